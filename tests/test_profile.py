"""The profile journey end to end: what the person sees, and what the database holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from locales import available_languages
from locales.i18n import Translator
from storage import conversations, members
from storage.db import unit_of_work
from storage.models import Member
from tests.conftest import BotHarness
from tests.factories import confirm_email, read_code, start_and_agree
from tests.harness import Person


def _names(but: str | None = None) -> list[str]:
    """Every language's name in itself, as the pickers list them (English first)."""
    return [Translator().t(lang, "profile.language.self_name") for lang in available_languages() if lang != but]


async def member_of(bot: BotHarness, user_id: int) -> Member | None:
    async with unit_of_work(bot.sessions) as s:
        return await members.by_telegram_id(s, user_id)


async def state_of(bot: BotHarness, user_id: int) -> tuple[str, str, dict[str, Any]] | None:
    async with unit_of_work(bot.sessions) as s:
        state = await conversations.load(s, user_id)
        return (state.flow, state.step, dict(state.data)) if state is not None else None


async def member_count(bot: BotHarness) -> int:
    async with unit_of_work(bot.sessions) as s:
        return int(await s.scalar(select(func.count()).select_from(Member)) or 0)


async def onboard(bot: BotHarness, person: Person, email: str, *, first: str = "Alice", last: str = "Tan") -> None:
    """The whole journey, the short way."""
    await start_and_agree(person)
    await confirm_email(person, email)
    await person.send(first)
    await person.expect("last name")
    await person.send(last)
    await person.expect("Where do you live?")
    await person.press("Singapore")
    await person.expect("Contact number")
    await person.expect("share the number")
    await person.press("Skip (no number)")
    await person.expect("No contact number")
    await person.expect("newsletter")
    await person.press("No, thanks")
    await person.expect("Your profile is saved")


# ---- onboarding ------------------------------------------------------------------------------
async def test_new_user_full_onboarding(bot: BotHarness) -> None:
    alice = bot.person(1001, "Alice")
    await alice.send("/start")
    await alice.expect("Welcome, Alice!")
    consent = await alice.expect("Privacy policy", "privacy policy")
    assert consent.buttons == ["✅ I agree", "❌ I don't agree", *_names(but="en"), "✖️ Cancel"]
    links = [e.get("url") for e in consent.message.get("entities", []) if e["type"] == "text_link"]
    assert links == [bot.settings.privacy_policy_url]
    assert await member_of(bot, 1001) is None  # nothing stored before consent

    await alice.press("✅ I agree")
    email = await alice.expect("Your e-mail address")
    assert email.buttons == ["⬅️ Back", "✖️ Cancel"]
    member = await member_of(bot, 1001)
    assert (
        member is not None and member.consent_at == bot.clock.now() and member.language == "en" and member.email is None
    )

    await confirm_email(alice, "Alice@Example.com")  # the code mailed to it, typed back
    member = await member_of(bot, 1001)
    assert member is not None and member.email == "alice@example.com" and member.email_verified_at == bot.clock.now()
    await alice.send("  Alice  ")
    await alice.expect("last name")
    await alice.send("Tan")
    country = await alice.expect("Where do you live?")
    assert {
        "Singapore",
        "Taiwan",
        "United States",
        "Germany",
        "France",
        "United Kingdom",
        "Hong Kong",
        "Malaysia",
        "Japan",
    } <= set(country.buttons)
    await alice.press("Singapore")
    phone = await alice.expect("Contact number")
    assert "Skip (no number)" in phone.buttons
    await alice.expect("share the number")
    keyboard = bot.emulator.reply_keyboard(alice.chat_id)
    assert keyboard is not None and keyboard["keyboard"][0][0].get("request_contact") is True

    await alice.share_contact("6591234567")  # Telegram may leave out the "+"
    await alice.expect("Number saved: +65 9123 4567")
    assert bot.emulator.reply_keyboard(alice.chat_id) is None  # the share button went away
    await alice.expect("newsletter")
    await alice.press("Yes, please")
    done = await alice.expect(
        "Your profile is saved", "alice@example.com", "Alice Tan", "Singapore", "+65 9123 4567", "Newsletter: yes"
    )
    assert done.buttons == []
    menu = bot.emulator.reply_keyboard(alice.chat_id)
    assert menu is not None and "📝 Register a product" in str(menu)

    member = await member_of(bot, 1001)
    assert member is not None
    assert (member.email, member.first_name, member.last_name, member.country, member.phone, member.newsletter) == (
        "alice@example.com",
        "Alice",
        "Tan",
        "SG",
        "+6591234567",
        True,
    )
    assert member.profile_completed_at == bot.clock.now() and member.username == "alice"
    assert await state_of(bot, 1001) is None

    await alice.send("/start")
    await alice.expect("Welcome back, Alice!")


async def test_traditional_chinese_user_sees_chinese(bot: BotHarness) -> None:
    mei = bot.person(1002, "美玲", language_code="zh-hant")
    await mei.send("/start")
    await mei.expect("歡迎，美玲！")
    consent = await mei.expect("隱私權政策")
    assert consent.buttons == [
        "✅ 我同意",
        "❌ 我不同意",
        *_names(but="zh-Hant"),
        "✖️ 取消",
    ]  # the others, in themselves
    await mei.press("✅ 我同意")
    await mei.expect("電子郵件")
    await confirm_email(mei, "mei@example.tw", "名字")
    mail = bot.emulator.mailbox.for_address("mei@example.tw")[-1]
    assert mail.subject.startswith("您的確認碼") and "確認碼是" in mail.text  # in her language
    await mei.send("美玲")
    await mei.expect("姓氏")
    await mei.send("陳")
    country = await mei.expect("您住在哪裡？")
    assert "台灣" in country.buttons and "新加坡" in country.buttons
    await mei.send("台灣")  # an exact name is taken directly
    await mei.expect("聯絡電話")
    await mei.expect("分享")
    await mei.send("0912 345 678")  # a national number, read in the member's region
    await mei.expect("已儲存電話號碼：+886 912 345 678")
    await mei.expect("電子報")
    await mei.press("不用了，謝謝")
    await mei.expect("您的個人資料已儲存", "姓名：陳美玲", "地區：台灣", "電子報：不訂閱", "語言：繁體中文")
    member = await member_of(bot, 1002)
    assert (
        member is not None
        and member.language == "zh-Hant"
        and member.country == "TW"
        and member.phone == "+886912345678"
    )
    assert member.newsletter is False


async def test_decline_consent_stores_only_the_refusal(bot: BotHarness) -> None:
    bob = bot.person(1003, "Bob")
    await bob.send("/start")
    await bob.expect("Welcome")
    await bob.expect("Privacy policy")
    await bob.press("❌ I don't agree")
    await bob.expect("I have only noted that you declined", "/start")
    member = await member_of(bot, 1003)
    assert member is not None
    assert member.consent_refused_at == bot.clock.now() and member.consent_at is None
    assert (member.email, member.first_name, member.last_name, member.country, member.phone, member.username) == (
        None,
    ) * 6
    assert member.profile_completed_at is None and member.newsletter is False
    assert await state_of(bot, 1003) is None

    await bob.send("/profile")  # nothing works without consent: the journey starts again
    await bob.expect("Welcome")
    await bob.expect("Privacy policy")
    await bob.press("✅ I agree")
    await bob.expect("Your e-mail address")
    member = await member_of(bot, 1003)
    assert member is not None and member.consent_at is not None and member.consent_refused_at is None
    assert await member_count(bot) == 1


# ---- bad answers ----------------------------------------------------------------------------
async def test_invalid_email_and_email_of_another_account(bot: BotHarness) -> None:
    bob = bot.person(1004, "Bob")
    await onboard(bot, bob, "bob@example.com", first="Bob")
    alice = bot.person(1005, "Alice")
    await start_and_agree(alice)

    for bad in ("not-an-email", "alice@example", "alice @example.com", "a@b.c"):
        await alice.send(bad)
        await alice.expect("doesn't look like an e-mail address")
    await alice.send("BOB@example.com")
    await alice.expect("already belongs to another account")
    member = await member_of(bot, 1005)
    assert member is not None and member.email is None
    assert (await state_of(bot, 1005))[1] == "email"  # type: ignore[index]

    async with unit_of_work(bot.sessions) as s:  # staff allow Bob's household address to be shared
        (await members.by_telegram_id(s, 1004)).email_shared_allowed = True  # type: ignore[union-attr]
    await confirm_email(alice, "bob@example.com")
    assert (await member_of(bot, 1005)).email == "bob@example.com"  # type: ignore[union-attr]


async def test_names_must_be_present_and_short(bot: BotHarness) -> None:
    alice = bot.person(1006, "Alice")
    await start_and_agree(alice)
    await confirm_email(alice, "alice@example.com")
    await alice.send("A" * 101)
    await alice.expect("at most 100 characters")
    await alice.send_photo(b"not really a photo")  # a photo where text is expected: the router answers
    await alice.expect("Please type your answer as text.")
    await alice.expect("first name")
    assert (await member_of(bot, 1006)).first_name is None  # type: ignore[union-attr]
    await alice.send("A" * 100)
    await alice.expect("last name")


async def test_country_search_by_typing(bot: BotHarness) -> None:
    alice = bot.person(1007, "Alice")
    await start_and_agree(alice)
    await confirm_email(alice, "alice@example.com")
    for answer in ("Alice", "Tan"):
        await alice.send(answer)
        await alice.next_reply()

    await alice.send("zzzz")
    nothing = await alice.expect("no country or region matching “zzzz”")
    assert "Singapore" in nothing.buttons
    await alice.send("united")
    pick = await alice.expect("Which one is it?")
    assert {"United Kingdom", "United States", "United Arab Emirates"} <= set(pick.buttons) and len(
        pick.buttons
    ) <= 8 + 2
    await alice.send("sing")
    pick = await alice.expect("Which one is it?")
    assert pick.buttons == ["Singapore", "⬅️ Back", "✖️ Cancel"]
    assert (await member_of(bot, 1007)).country is None  # type: ignore[union-attr]
    await alice.press("Singapore", on=pick)
    await alice.expect("Contact number")
    await alice.expect("share the number")
    assert (await member_of(bot, 1007)).country == "SG"  # type: ignore[union-attr]

    await alice.press("⬅️ Back")  # another language's name is an exact answer too
    await alice.expect("Where do you live?")
    await alice.send("新加坡")
    await alice.expect("Contact number")
    await alice.expect("share the number")
    await alice.press("⬅️ Back")
    await alice.expect("Where do you live?")
    await alice.send("jp")  # an ISO code
    await alice.expect("Contact number")
    assert (await member_of(bot, 1007)).country == "JP"  # type: ignore[union-attr]


async def test_phone_typed_invalid_and_skip(bot: BotHarness) -> None:
    alice = bot.person(1008, "Alice")
    await start_and_agree(alice)
    await confirm_email(alice, "alice@example.com")
    for answer in ("Alice", "Tan"):
        await alice.send(answer)
        await alice.next_reply()
    await alice.press("Singapore")
    await alice.expect("Contact number")
    await alice.expect("share the number")

    for bad in ("12345", "call me", "+65 1234"):
        await alice.send(bad)
        await alice.expect("isn't a valid phone number")
    assert (await member_of(bot, 1008)).phone is None  # type: ignore[union-attr]
    await alice.send("+65 9123 4567")
    await alice.expect("Number saved: +65 9123 4567")
    await alice.expect("newsletter")
    assert (await member_of(bot, 1008)).phone == "+6591234567"  # type: ignore[union-attr]

    await alice.press("⬅️ Back")
    await alice.expect("Contact number")
    await alice.expect("share the number")
    await alice.send("Skip (no number)")  # the reply-keyboard button sends its label
    await alice.expect("No contact number")
    await alice.expect("newsletter")
    assert (await member_of(bot, 1008)).phone is None  # type: ignore[union-attr]


# ---- navigation ------------------------------------------------------------------------------
async def test_back_goes_to_the_previous_question(bot: BotHarness) -> None:
    alice = bot.person(1009, "Alice")
    await start_and_agree(alice)
    await confirm_email(alice, "alice@example.com")
    await alice.send("Alce")
    await alice.expect("last name")
    await alice.press("⬅️ Back")
    await alice.expect("first name")
    assert (await state_of(bot, 1009))[1] == "first_name"  # type: ignore[index]
    await alice.send("Alice")
    await alice.expect("last name")
    assert (await member_of(bot, 1009)).first_name == "Alice"  # type: ignore[union-attr]


async def test_cancel_midway_keeps_answers_and_start_resumes(bot: BotHarness) -> None:
    alice = bot.person(1010, "Alice")
    await start_and_agree(alice)
    await confirm_email(alice, "alice@example.com")
    for answer in ("Alice", "Tan"):
        await alice.send(answer)
        await alice.next_reply()
    await alice.send("/cancel")
    await alice.expect("Stopped")
    assert await state_of(bot, 1010) is None
    member = await member_of(bot, 1010)
    assert member is not None and member.last_name == "Tan" and member.profile_completed_at is None

    await alice.send("/start")  # resumes at the first question still open
    await alice.expect("I need a few details")
    await alice.expect("Where do you live?")


async def test_command_mid_step_gets_the_busy_answer(bot: BotHarness) -> None:
    alice = bot.person(1011, "Alice")
    await start_and_agree(alice)
    before = await state_of(bot, 1011)
    await alice.send("/profile")
    await alice.expect("You are in the middle of something", "/cancel")
    await alice.expect("Your e-mail address")
    assert await state_of(bot, 1011) == before
    assert (await member_of(bot, 1011)).email is None  # type: ignore[union-attr]
    await confirm_email(alice, "alice@example.com")


async def test_stale_button_gets_the_stale_answer(bot: BotHarness) -> None:
    alice = bot.person(1012, "Alice")
    await alice.send("/start")
    await alice.expect("Welcome")
    consent = await alice.expect("Privacy policy")
    await alice.press("✅ I agree", on=consent)
    await alice.expect("Your e-mail address")
    before = await state_of(bot, 1012)
    await alice.press("❌ I don't agree", on=consent)
    assert "earlier message" in await alice.next_toast()
    assert await state_of(bot, 1012) == before
    member = await member_of(bot, 1012)
    assert member is not None and member.consent_at is not None and member.consent_refused_at is None


async def test_text_where_a_button_is_expected(bot: BotHarness) -> None:
    alice = bot.person(1013, "Alice")
    await alice.send("/start")
    await alice.expect("Welcome")
    await alice.expect("Privacy policy")
    await alice.send("ok")
    await alice.expect("Please choose one of the buttons below.")
    await alice.expect("Privacy policy")
    assert await member_of(bot, 1013) is None


# ---- /profile and /language ------------------------------------------------------------------
async def test_profile_shows_everything_and_edits_email(bot: BotHarness) -> None:
    alice = bot.person(1014, "Alice")
    await onboard(bot, alice, "alice@example.com")
    await alice.send("/profile")
    card = await alice.expect(
        "Your profile", "alice@example.com", "Alice Tan", "Region: Singapore", "Contact number: —", "Newsletter: no"
    )
    assert card.buttons == [
        "✏️ Edit e-mail",
        "✏️ Edit name",
        "✏️ Edit region",
        "✏️ Edit phone",
        "✏️ Edit newsletter",
        "🗣 Change language",
        "📨 Decisions by e-mail: off",
    ]
    assert "E-mail: confirmed" in card.text

    await alice.press("✏️ Edit e-mail", on=card)
    ask = await alice.expect("Your e-mail address is now alice@example.com")
    assert ask.buttons == ["✖️ Cancel"]
    await alice.send("nope")
    await alice.expect("doesn't look like an e-mail address")
    after = bot.emulator.mailbox.last_seq
    await alice.send("alice.tan@example.org")  # a new address is unproven until its code is typed
    await alice.expect("6-digit code", "alice.tan@example.org")
    member = await member_of(bot, 1014)
    assert member is not None and member.email == "alice.tan@example.org" and member.email_verified_at is None
    await alice.send(await read_code(alice, "alice.tan@example.org", after))
    await alice.expect("alice.tan@example.org", "is confirmed")
    await alice.expect("Saved.", "alice.tan@example.org", "Alice Tan", "E-mail: confirmed")
    member = await member_of(bot, 1014)
    assert member is not None and member.email == "alice.tan@example.org" and member.first_name == "Alice"
    assert member.email_verified_at == bot.clock.now()
    assert await state_of(bot, 1014) is None

    await alice.press("✏️ Edit region", on=card)  # the card's buttons keep working
    await alice.expect("Your region is now Singapore")
    await alice.send("germ")
    await alice.expect("Which one is it?")
    await alice.press("Germany")
    await alice.expect("Saved.", "Region: Germany")
    await alice.press("✏️ Edit name", on=card)
    await alice.expect("Your first name is now Alice")
    await alice.send("Alicia")
    await alice.expect("Your last name is now Tan")
    await alice.send("Lim")
    await alice.expect("Saved.", "Alicia Lim")
    await alice.press("✏️ Edit newsletter", on=card)
    await alice.expect("newsletter")
    await alice.press("Yes, please")
    await alice.expect("Saved.", "Newsletter: yes")
    member = await member_of(bot, 1014)
    assert member is not None and (member.country, member.first_name, member.last_name, member.newsletter) == (
        "DE",
        "Alicia",
        "Lim",
        True,
    )
    await alice.press("🗣 Change language", on=card)
    picker = await alice.expect("Which language")
    assert picker.buttons == _names()


async def test_edit_phone_from_profile(bot: BotHarness) -> None:
    alice = bot.person(1015, "Alice")
    await onboard(bot, alice, "alice@example.com")
    await alice.send("/profile")
    card = await alice.expect("Your profile")
    await alice.press("✏️ Edit phone", on=card)
    await alice.expect("Contact number")
    await alice.expect("share the number")
    await alice.share_contact("+6591234567")
    await alice.expect("Number saved: +65 9123 4567")
    menu = bot.emulator.reply_keyboard(alice.chat_id)
    assert menu is not None and "📝 Register a product" in str(menu)  # the menu is back
    again = await alice.expect("Your profile", "+65 9123 4567")
    assert "✏️ Edit phone" in again.buttons
    assert (await member_of(bot, 1015)).phone == "+6591234567"  # type: ignore[union-attr]


async def test_language_switch_sticks(bot: BotHarness) -> None:
    alice = bot.person(1016, "Alice")
    await onboard(bot, alice, "alice@example.com")
    await alice.send("/language")
    picker = await alice.expect("Which language", "Now: English")
    assert picker.buttons == _names()
    await alice.press("繁體中文")
    await alice.expect("之後我會用繁體中文與您對話")
    menu = bot.emulator.reply_keyboard(alice.chat_id)
    assert menu is not None and "📝 註冊產品" in str(menu)
    assert (await member_of(bot, 1016)).language == "zh-Hant"  # type: ignore[union-attr]

    await alice.send("/profile")
    await alice.expect("您的個人資料", "地區：新加坡", "語言：繁體中文")
    await alice.send("/help")
    await alice.expect("我可以做什麼")
    await alice.press("English", on=picker)  # the picker's buttons work from the old message
    await alice.expect("From now on I'll talk to you in English.")
    assert (await member_of(bot, 1016)).language == "en"  # type: ignore[union-attr]


async def test_language_before_consent_is_kept_in_the_state(bot: BotHarness) -> None:
    carol = bot.person(1017, "Carol")
    await carol.send("/start")
    await carol.expect("Welcome")
    await carol.expect("Privacy policy")
    await carol.press("繁體中文")
    consent = await carol.expect("隱私權政策")
    assert "English" in consent.buttons
    assert await member_of(bot, 1017) is None  # nothing stored before consent...
    assert (await state_of(bot, 1017))[2]["language"] == "zh-Hant"  # type: ignore[index]  # ...but the state
    await carol.send("/language")  # allowed mid-journey; the question is asked again in the new language
    await carol.expect("目前：繁體中文")
    await carol.press("English")
    await carol.expect("From now on I'll talk to you in English.")
    await carol.expect("Privacy policy")
    await carol.press("繁體中文")
    await carol.expect("隱私權政策")
    await carol.press("✅ 我同意")
    await carol.expect("電子郵件")
    assert (await member_of(bot, 1017)).language == "zh-Hant"  # type: ignore[union-attr]


async def test_language_first_then_onboarding(bot: BotHarness) -> None:
    dave = bot.person(1018, "Dave")
    await dave.send("/language")
    await dave.expect("Which language")
    await dave.press("繁體中文")
    await dave.expect("之後我會用繁體中文與您對話")
    await dave.expect("歡迎，Dave！")
    await dave.expect("隱私權政策")
    assert await member_of(bot, 1018) is None


# ---- other journeys --------------------------------------------------------------------------
async def test_require_profile_continues_with_the_journey(bot: BotHarness) -> None:
    alice = bot.person(1019, "Alice")
    await alice.send("/register")
    await alice.expect("Welcome")
    await alice.expect("Privacy policy")
    assert (await state_of(bot, 1019))[2]["then"] == "register"  # type: ignore[index]
    await alice.press("✅ I agree")
    await alice.expect("Your e-mail address")
    await confirm_email(alice, "alice@example.com")
    for answer in ("Alice", "Tan", "SG"):
        await alice.send(answer)
        await alice.next_reply()
    await alice.expect("share the number")
    await alice.press("Skip (no number)")
    await alice.expect("No contact number")
    await alice.expect("newsletter")
    await alice.press("No, thanks")
    await alice.expect("Your profile is saved")
    await alice.next_reply()  # the registration's first question
    state = await state_of(bot, 1019)
    assert state is not None and state[0] == "register"
    assert await _has_profile(bot, 1019)


async def _has_profile(bot: BotHarness, user_id: int) -> bool:
    async with unit_of_work(bot.sessions) as s:
        return await members.has_profile(s, user_id)


# ---- services, without the bot ---------------------------------------------------------------
async def test_member_services(session: AsyncSession) -> None:
    from datetime import UTC, datetime

    import pytest

    now = datetime(2026, 3, 10, tzinfo=UTC)
    with pytest.raises(members.ConsentRequired):
        await members.set_email(session, 1, "a@example.com", now=now)
    assert await members.set_language(session, 1, "zh-Hant", now=now) is None
    assert await members.by_telegram_id(session, 1) is None

    await members.give_consent(session, telegram_user_id=1, chat_id=1, language="en", now=now)
    await members.give_consent(session, telegram_user_id=2, chat_id=2, language="en", now=now)
    await members.set_email(session, 1, " Shared@Example.com ", now=now)
    assert await members.email_in_use_by_other(session, "shared@example.com", 2)
    assert not await members.email_in_use_by_other(session, "shared@example.com", 1)
    with pytest.raises(members.EmailTaken):
        await members.set_email(session, 2, "shared@example.com", now=now)
    (await members.by_telegram_id(session, 2)).email_shared_allowed = True  # type: ignore[union-attr]
    await members.set_email(session, 2, "shared@example.com", now=now)

    with pytest.raises(members.InvalidName):
        await members.set_names(session, 1, first_name=" \u200b ", now=now)
    with pytest.raises(members.UnknownCountry):
        await members.set_country(session, 1, "EU", now=now)
    with pytest.raises(members.IncompleteProfile) as missing:
        await members.complete_profile(session, 1, now=now)
    assert missing.value.details["missing"] == ["first_name", "last_name", "country"]
    await members.set_names(session, 1, first_name="Ann", last_name="Lee", now=now)
    await members.set_country(session, 1, "sg", now=now)
    assert not await members.has_profile(session, 1)
    await members.complete_profile(session, 1, now=now)
    assert await members.has_profile(session, 1)

    assert members.normalize_phone("+65 9123 4567") == "+6591234567"
    assert members.normalize_phone("0065 9123 4567") == "+6591234567"
    assert members.normalize_phone("9123 4567", "SG") == "+6591234567"
    with pytest.raises(members.InvalidPhone):
        members.normalize_phone("9123 4567")
