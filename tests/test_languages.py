"""Every catalogue in locales/ is offered by /language, each named in itself, and a new user is
greeted in the language closest to the one their Telegram app reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import bot.commands_menu
from emulator import Emulator
from locales import available_languages
from locales.i18n import Translator, as_plain_text
from storage.db import unit_of_work
from storage.models import Member
from storage.texts import in_language
from tests.conftest import ADMIN_ID, STAFF_CHAT_ID, BotHarness
from tests.factories import customer
from tests.harness import Person
from tests.staff_tools_support import start_bot


async def test_language_offers_every_catalogue_named_in_itself(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await alice.send("/language")
    picker = await alice.expect("Which language")
    names = {lang: Translator().t(lang, "profile.language.self_name") for lang in available_languages()}
    assert picker.buttons == list(names.values())
    last = available_languages()[-1]
    await alice.press(names[last])
    await alice.expect(Translator().t(last, "profile.language.set"))
    async with unit_of_work(bot.sessions) as s:
        member = await s.scalar(select(Member).where(Member.telegram_user_id == 1001))
        assert member is not None and member.language == last


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [("zh-CN", "zh-Hans"), ("zh-SG", "zh-Hans"), ("zh-HK", "zh-Hant"), ("de-AT", "de"), ("ja", "ja"), ("pt-BR", "en")],
)
async def test_a_new_user_is_greeted_in_the_closest_language(
    bot: BotHarness, language_code: str, expected: str
) -> None:
    translator = Translator()
    expected = expected if expected in available_languages() else translator.resolve(language_code)
    person = bot.person(1003, "Kim", language_code=language_code)
    await person.send("/start")
    await person.expect(translator.t(expected, "profile.welcome", name="Kim").splitlines()[0])


def test_command_menus_per_telegram_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """One menu per two-letter code: both Chinese catalogues share "zh", Traditional keeps it."""
    monkeypatch.setattr(bot.commands_menu, "available_languages", lambda: ("en", "de", "zh-Hans", "zh-Hant"))
    assert bot.commands_menu.menu_languages() == {None: "en", "de": "de", "zh": "zh-Hant"}


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-Hans", "春季"), ("zh-Hant", "春季"), ("de-AT", "Frühling"), ("ja", "Spring"), (None, "Spring")],
)
def test_operator_texts_in_the_closest_language(language: str | None, expected: str) -> None:
    """A promotion named in en, zh-Hant and de: a Simplified reader gets Traditional, not English."""
    assert in_language({"en": "Spring", "zh-Hant": "春季", "de": "Frühling"}, language) == expected


@pytest.mark.parametrize("language", [lang for lang in available_languages() if lang != "en"])
async def test_staff_can_work_in_any_language(emulator: Emulator, db_url: str, tmp_path: Path, language: str) -> None:
    """DEFAULT_LANGUAGE stays English unless set; set to any catalogue, the staff chat speaks it."""
    bot = await start_bot(emulator, db_url, tmp_path, default_language=language)
    try:
        group = Person(emulator, ADMIN_ID, "Ada", chat_id=STAFF_CHAT_ID)
        await group.send("/help")
        await group.expect(as_plain_text(Translator().t(language, "staff.help")).splitlines()[0])
        await group.send("/queue")
        await group.expect(Translator().t(language, "staff.queue.empty"))
    finally:
        await bot.runtime.stop()
