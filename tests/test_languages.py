"""Every catalogue in locales/ is offered by /language, each named in itself, and a new user is
greeted in the language closest to the one their Telegram app reports."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from locales import available_languages
from locales.i18n import Translator
from storage.db import unit_of_work
from storage.models import Member
from tests.conftest import BotHarness
from tests.factories import customer


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
