"""E-mail verification by a code mailed over real SMTP (the emulator's aiosmtpd server), as a person
meets it: give an address, read the code in the mailbox, type it (issue 13)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.runtime import BotRuntime
from storage import claims, email_verification, mailboxes, members, review
from storage.db import unit_of_work
from storage.models import Claim, EmailCode, MailMessage, Member, OutboxStatus, Promotion
from tests.conftest import STAFF_ID, BotHarness
from tests.factories import add_product, confirm_email, customer, read_code, start_and_agree
from tests.harness import Person

ELIGIBLE = "BA9H040230046"  # PRO MP241, in the demo promotion
ELIGIBLE_TOO = "BA9H616425247"


async def _member(bot: BotHarness, user_id: int) -> Member:
    async with unit_of_work(bot.sessions) as s:
        member = await members.by_telegram_id(s, user_id)
        assert member is not None
        return member


async def _mails(bot: BotHarness) -> list[MailMessage]:
    async with unit_of_work(bot.sessions) as s:
        return list((await s.scalars(select(MailMessage).order_by(MailMessage.id))).all())


async def _promotion_id(bot: BotHarness) -> int:
    async with unit_of_work(bot.sessions) as s:
        found = await s.scalar(select(Promotion.id).where(Promotion.slug == "spring-2026"))
        assert found is not None
        return found


async def _at_code_step(person: Person, address: str) -> int:
    """/start, consent, the address typed; returns the mailbox position before its code mail."""
    await start_and_agree(person)
    after = person.emulator.mailbox.last_seq
    await person.send(address)
    await person.expect("6-digit code", address, "15 min")
    return after


@pytest.fixture
async def manual_mail(bot: BotHarness) -> AsyncIterator[BotHarness]:
    """The same bot, but mails go out only when the test drains them (to watch each try)."""
    await bot.runtime.stop()
    bot.runtime = BotRuntime(bot.settings, clock=bot.clock, poll_timeout=1, timed_jobs=False, mail_interval=None)
    await bot.runtime.start()
    yield bot


async def _drain(bot: BotHarness) -> int:
    assert bot.runtime.mailer is not None
    return await bot.runtime.mailer.drain_once()


# ---- the code ----------------------------------------------------------------------------------
async def test_wrong_code_then_the_right_one_verifies_the_address(bot: BotHarness) -> None:
    alice = bot.person(1001, "Alice")
    after = await _at_code_step(alice, "alice@example.com")
    mail = await bot.emulator.mailbox.wait_for("alice@example.com", after=after)
    assert mail.subject.startswith("Your code: ") and mail.mail_from == "members@test.example"
    code = await read_code(alice, "alice@example.com", after)
    assert code in mail.html and "<b>" in mail.html and "<b>" not in mail.text  # multipart: HTML and plain
    assert (await _member(bot, 1001)).email_verified_at is None

    wrong = "000000" if code != "000000" else "111111"
    await alice.send(wrong)
    await alice.expect("not right", "Tries left: 4")
    await alice.send("12ab")
    await alice.expect("6 digits")  # not a code: no try counted
    await alice.send(f"{code[:3]} {code[3:]}")  # typed with a space, as people copy it
    await alice.expect("alice@example.com", "is confirmed")
    await alice.expect("first name")
    member = await _member(bot, 1001)
    assert member.email_verified_at == bot.clock.now()
    await alice.press("⬅️ Back")  # the confirmed address is not asked for its code again
    await alice.expect("Your e-mail address")
    # Only the code's hash stays in the database: the sent mail's copy of it is wiped.
    [row] = await _mails(bot)
    assert row.status == OutboxStatus.SENT and row.payload["values"]["code"] == "—"
    async with unit_of_work(bot.sessions) as s:
        stored = (await s.scalars(select(EmailCode))).one()
    assert code not in stored.code_sha256 and stored.closed_at == bot.clock.now()


async def test_a_code_expires_and_a_new_one_replaces_it(bot: BotHarness) -> None:
    alice = bot.person(1001, "Alice")
    after = await _at_code_step(alice, "alice@example.com")
    first = await read_code(alice, "alice@example.com", after)
    bot.clock.advance(timedelta(minutes=15, seconds=1))
    await alice.send(first)
    await alice.expect("expired", "Send it again")
    assert (await _member(bot, 1001)).email_verified_at is None

    after = bot.emulator.mailbox.last_seq
    await alice.press("🔁 Send it again")
    await alice.expect("new code is on its way", "alice@example.com")
    await alice.expect("6-digit code", "15 min")
    second = await read_code(alice, "alice@example.com", after)
    if second != first:
        await alice.send(first)  # the old code no longer works
        await alice.expect("not right")
    await alice.send(second)
    await alice.expect("is confirmed")
    assert (await _member(bot, 1001)).email_verified_at == bot.clock.now()


async def test_five_wrong_codes_lock_the_address_for_an_hour(bot: BotHarness) -> None:
    alice = bot.person(1001, "Alice")
    after = await _at_code_step(alice, "alice@example.com")
    code = await read_code(alice, "alice@example.com", after)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        await alice.send(wrong)
        await alice.expect(f"Tries left: {left}")
    await alice.send(wrong)
    locked = await alice.expect("Too many wrong codes", "alice@example.com", "2026-03-10 10:00 UTC")
    assert "another address" in locked.text
    await alice.send(code)  # the right code does not open a locked address
    await alice.expect("Too many wrong codes")
    await alice.press("🔁 Send it again")
    await alice.expect("Too many wrong codes")
    await alice.expect("no valid code")  # the step asked again
    assert bot.emulator.mailbox.last_seq == after + 1  # no new mail while locked
    assert (await _member(bot, 1001)).email_verified_at is None
    async with unit_of_work(bot.sessions) as s:
        member = await members.by_telegram_id(s, 1001)
        assert member is not None
        until = await email_verification.locked_until(s, member.id, "alice@example.com", bot.clock.now())
    assert until == bot.clock.now() + timedelta(hours=1)

    bot.clock.advance(timedelta(hours=1, minutes=1))
    after = bot.emulator.mailbox.last_seq
    await alice.press("🔁 Send it again")
    await alice.expect("new code is on its way")
    await alice.expect("6-digit code")
    await alice.send(await read_code(alice, "alice@example.com", after))
    await alice.expect("is confirmed")


async def test_resend_limits_per_address_and_per_account_and_changing_the_address(bot: BotHarness) -> None:
    alice = bot.person(1001, "Alice")
    mailbox = bot.emulator.mailbox
    seen = (await mailbox.wait_for("a1@example.com", after=await _at_code_step(alice, "a1@example.com"))).seq
    for _ in range(2):  # codes 2 and 3 to a1 within the hour
        await alice.press("🔁 Send it again")
        await alice.expect("new code is on its way")
        await alice.expect("6-digit code")
        seen = (await mailbox.wait_for("a1@example.com", after=seen)).seq
    old = await read_code(alice, "a1@example.com", seen - 1)
    await alice.press("🔁 Send it again")
    await alice.expect("a1@example.com", "3 codes in the last hour", "2026-03-10 10:00 UTC")
    await alice.expect("6-digit code")  # the last code still works
    assert len(mailbox.for_address("a1@example.com")) == 3

    # "Change the address": the new address gets its own code; the old code does not prove it.
    for n, address in enumerate(("a2@example.com", "a3@example.com", "a4@example.com"), start=2):
        await alice.press("✏️ Change the address")
        await alice.expect("Your e-mail address")
        await alice.send(address)
        await alice.expect("6-digit code", address)
        for _ in range(2 if n < 4 else 0):
            await alice.press("🔁 Send it again")
            await alice.expect("new code is on its way")
            await alice.expect("6-digit code")
    assert (await _member(bot, 1001)).email == "a4@example.com"
    async with unit_of_work(bot.sessions) as s:
        sent = len((await s.scalars(select(EmailCode))).all())
    assert sent == 10  # 3 + 3 + 3 + 1 today
    await alice.press("🔁 Send it again")  # a4 has had 1 code, but the account had 10 today
    await alice.expect("10 codes today", "2026-03-11 09:00 UTC")
    await alice.expect("6-digit code")
    await alice.send(old)
    await alice.expect("not right")
    await alice.send(await read_code(alice, "a4@example.com"))
    await alice.expect("a4@example.com", "is confirmed")
    member = await _member(bot, 1001)
    assert member.email == "a4@example.com" and member.email_verified_at is not None


# ---- redeeming ---------------------------------------------------------------------------------
async def test_redeem_is_refused_until_the_address_is_verified(bot: BotHarness) -> None:
    """A member from before verification existed is asked for the code at the next redeem, not before."""
    alice = await customer(bot, 1001, "Alice", email="old@example.com")
    async with unit_of_work(bot.sessions) as s:
        member = await members.by_telegram_id(s, 1001)
        assert member is not None
        member.email_verified_at = None
        member_id = member.id
    product = await add_product(bot, member_id, ELIGIBLE)
    await alice.send("/products")  # nothing else is blocked
    await alice.expect("PRO MP241")

    # the domain refuses an unverified submit whatever the journey does
    promotion_id = await _promotion_id(bot)
    async with unit_of_work(bot.sessions) as s:
        unverified = await s.get(Member, member_id)
        assert unverified is not None
        draft = claims.ClaimDraft(promotion_id, [claims.ItemDraft(product, "x.jpg", "0" * 64)], True, None, "k")
        with pytest.raises(claims.ClaimRefused) as refused:
            await claims.submit(s, unverified, draft, bot.clock.now())
        assert refused.value.refusal is claims.Refusal.EMAIL_UNVERIFIED

    after = bot.emulator.mailbox.last_seq
    await alice.send("/redeem")
    await alice.expect("Before you redeem", "old@example.com")
    await alice.expect("6-digit code", "old@example.com")
    await alice.send(await read_code(alice, "old@example.com", after))
    await alice.expect("is confirmed")
    await alice.expect("Tick the products")  # straight on to the redeem
    assert (await _member(bot, 1001)).email_verified_at == bot.clock.now()


async def test_gmail_spellings_of_one_mailbox_share_one_limit(bot: BotHarness) -> None:
    await _set_limit(bot, 1)
    first, second = bot.person(1001, "Alice"), bot.person(1002, "Bob")
    for person, address in ((first, "a.b+x@gmail.com"), (second, "ab@gmail.com")):
        await start_and_agree(person)
        await confirm_email(person, address)
    assert mailboxes.mailbox_key("A.B+x@GoogleMail.com") == "ab@gmail.com"
    ids = [(await _member(bot, 1001)).id, (await _member(bot, 1002)).id]
    for member_id in ids:  # the rest of the profile, as if typed
        async with unit_of_work(bot.sessions) as s:
            member = await s.get(Member, member_id)
            assert member is not None
            member.first_name, member.last_name, member.country = "T", "U", "SG"
            member.profile_completed_at = bot.clock.now()
    products = [await add_product(bot, ids[0], ELIGIBLE), await add_product(bot, ids[1], ELIGIBLE_TOO)]
    await second.send("/cancel")  # out of the profile questions (answered above)
    await second.expect("Stopped")
    promotion_id = await _promotion_id(bot)
    async with unit_of_work(bot.sessions) as s:
        alice = await s.get(Member, ids[0])
        assert alice is not None and alice.email == "a.b+x@gmail.com"  # kept as typed, for sending
        draft = claims.ClaimDraft(promotion_id, [claims.ItemDraft(products[0], "x.jpg", "0" * 64)], True, None, "a")
        submitted = await claims.submit(s, alice, draft, bot.clock.now())
        assert submitted.claim.email == "a.b+x@gmail.com" and submitted.claim.email_key == "ab@gmail.com"
    await second.send("/redeem")
    await second.expect("None of your products")
    await second.expect("limit of 1 per e-mail")
    async with unit_of_work(bot.sessions) as s:
        bob = await s.get(Member, ids[1])
        assert bob is not None
        draft = claims.ClaimDraft(promotion_id, [claims.ItemDraft(products[1], "y.jpg", "1" * 64)], True, None, "b")
        with pytest.raises(claims.ClaimRefused) as refused:
            await claims.submit(s, bob, draft, bot.clock.now())
        assert refused.value.refusal is claims.Refusal.LIMIT_REACHED


async def _set_limit(bot: BotHarness, limit: int) -> None:
    async with unit_of_work(bot.sessions) as s:
        promotion = await s.scalar(select(Promotion).where(Promotion.slug == "spring-2026"))
        assert promotion is not None
        promotion.redeem_limit_per_email = limit


async def test_deleteme_erases_the_address_and_its_tokens_still_count(bot: BotHarness) -> None:
    await _set_limit(bot, 1)
    alice = await customer(bot, 1001, "Alice", email="a.lice+promo@gmail.com")
    member_id = (await _member(bot, 1001)).id
    product = await add_product(bot, member_id, ELIGIBLE)
    promotion_id = await _promotion_id(bot)
    async with unit_of_work(bot.sessions) as s:
        member = await s.get(Member, member_id)
        assert member is not None
        draft = claims.ClaimDraft(promotion_id, [claims.ItemDraft(product, "x.jpg", "0" * 64)], True, None, "k")
        order_id = (await claims.submit(s, member, draft, bot.clock.now())).claim.order_id
        await email_verification.send_code(s, member, now=bot.clock.now(), valid_for=timedelta(minutes=15))
    async with unit_of_work(bot.sessions) as s:  # approved: a claim in review would be withdrawn and free its place
        await review.approve(s, order_id, STAFF_ID, bot.clock.now(), code="AAAAA-BBBBB-CCCCC")
    await alice.send("/deleteme")
    await alice.expect("Delete all your data?")
    await alice.press("🗑 Yes, delete everything")
    await alice.expect("Your data is deleted")
    async with unit_of_work(bot.sessions) as s:
        claim = (await s.scalars(select(Claim))).one()
        assert claim.email == claims.email_token("a.lice+promo@gmail.com")
        assert claim.email_key == claims.email_token("alice@gmail.com")
        assert (await s.scalars(select(EmailCode))).all() == []
        assert [m for m in (await s.scalars(select(MailMessage))).all() if m.member_id == member_id] == []
        gone = await s.get(Member, member_id)
        assert gone is not None and gone.email is None and gone.email_verified_at is None

    # the same person, a new account, the same mailbox spelled another way: still capped
    await start_and_agree(alice)
    await confirm_email(alice, "alice@gmail.com")
    async with unit_of_work(bot.sessions) as s:
        assert await claims.redeemed_count(s, promotion_id, "alice@gmail.com") == 1
        assert await claims.redeemed_count(s, promotion_id, "other@gmail.com") == 0


# ---- delivery ----------------------------------------------------------------------------------
async def test_smtp_server_down_the_code_is_retried_and_delivered_when_it_is_back(manual_mail: BotHarness) -> None:
    bot = manual_mail
    server = bot.emulator.mail_server
    assert server is not None
    await server.stop()
    alice = bot.person(1001, "Alice")
    await _at_code_step(alice, "alice@example.com")
    assert await _drain(bot) == 0
    [row] = await _mails(bot)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and row.last_error
    assert row.not_before == bot.clock.now() + timedelta(seconds=30)
    assert await _drain(bot) == 0  # not due yet: nothing is tried
    bot.clock.advance(timedelta(seconds=30))
    assert await _drain(bot) == 0  # still down: the backoff doubles
    [row] = await _mails(bot)
    assert row.attempts == 2 and row.not_before == bot.clock.now() + timedelta(seconds=60)

    await server.start()  # back, on the same port
    bot.clock.advance(timedelta(seconds=60))
    assert await _drain(bot) == 1
    await alice.send(await read_code(alice, "alice@example.com"))
    await alice.expect("is confirmed")


async def test_a_550_refusal_marks_the_address_and_tells_the_customer(manual_mail: BotHarness) -> None:
    bot = manual_mail
    bot.emulator.mailbox.refuse("nobody@example.com")
    alice = bot.person(1001, "Alice")
    await _at_code_step(alice, "nobody@example.com")
    assert await _drain(bot) == 0
    [row] = await _mails(bot)
    assert row.status == OutboxStatus.FAILED and (row.last_error or "").startswith("550")
    assert (await _member(bot, 1001)).email_undeliverable_at == bot.clock.now()
    await bot.runtime.tick()  # the Telegram outbox carries the notice
    notice = await alice.expect("refused our mail", "nobody@example.com", "550", "5.1.1 Mailbox unavailable")
    assert notice.buttons == ["✏️ Change the address"]
    assert bot.emulator.mailbox.for_address("nobody@example.com") == []

    await alice.press("✏️ Change the address", on=notice)
    await alice.expect("Your e-mail address")
    await alice.send("alice@example.com")
    await alice.expect("6-digit code", "alice@example.com")
    assert await _drain(bot) == 1
    await alice.send(await read_code(alice, "alice@example.com"))
    await alice.expect("is confirmed")
    member = await _member(bot, 1001)
    assert member.email == "alice@example.com" and member.email_undeliverable_at is None


async def test_decision_copies_by_email_are_opt_in(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice", email="alice@example.com")
    member_id = (await _member(bot, 1001)).id
    product = await add_product(bot, member_id, ELIGIBLE)
    await alice.send("/profile")
    card = await alice.expect("E-mail: confirmed")
    await alice.press("📨 Decisions by e-mail: off", on=card)
    await alice.expect("each decision", "by e-mail")
    card = await alice.expect("Your profile")
    assert "📨 Decisions by e-mail: on" in card.buttons and (await _member(bot, 1001)).email_copies
    promotion_id = await _promotion_id(bot)
    async with unit_of_work(bot.sessions) as s:
        member = await s.get(Member, member_id)
        assert member is not None
        draft = claims.ClaimDraft(promotion_id, [claims.ItemDraft(product, "x.jpg", "0" * 64)], True, None, "k")
        order_id = (await claims.submit(s, member, draft, bot.clock.now())).claim.order_id
    async with unit_of_work(bot.sessions) as s:
        await review.approve(s, order_id, STAFF_ID, bot.clock.now(), code="AAAAA-BBBBB-CCCCC")
    mail = await bot.emulator.mailbox.wait_for("alice@example.com")
    assert order_id in mail.subject and "AAAAA-BBBBB-CCCCC" in mail.text and "AAAAA-BBBBB-CCCCC" in mail.html
    await alice.expect("AAAAA-BBBBB-CCCCC")  # the chat has it too

    await alice.press("📨 Decisions by e-mail: on", on=card)
    await alice.expect("No more copies")
    assert not (await _member(bot, 1001)).email_copies


async def test_unverified_member_cannot_switch_copies_on(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice", email="alice@example.com")
    async with unit_of_work(bot.sessions) as s:
        member = await members.by_telegram_id(s, 1001)
        assert member is not None
        member.email_verified_at = None
    await alice.send("/profile")
    card = await alice.expect("not confirmed yet")
    await alice.press("📨 Decisions by e-mail: off", on=card)
    assert "confirm your e-mail address first" in await alice.next_toast()
    assert not (await _member(bot, 1001)).email_copies


# ---- rules without the bot ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("A.B+x@Gmail.com", "ab@gmail.com"),
        ("ab@googlemail.com", "ab@gmail.com"),
        ("first.last+tag@example.com", "first.last@example.com"),
        ("+only@example.com", "+only@example.com"),
        ("erased:abc", "erased:abc"),
    ],
)
def test_mailbox_key(typed: str, key: str) -> None:
    assert mailboxes.mailbox_key(typed) == key
