"""Staff review end to end: the card in the staff group, Approve / Reject with a reason, redeem
again, canned reasons, refusals for non-staff, two staff at once, codes running out, reopen."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from storage import claims, codes, review
from storage.claims import ClaimDraft, ItemDraft
from storage.db import unit_of_work
from storage.models import (
    ActivationCode,
    AuditEntry,
    CannedReason,
    Claim,
    ClaimStatus,
    Member,
    OutboxMessage,
    Promotion,
)
from tests.conftest import ADMIN_ID, STAFF_CHAT_ID, STAFF_ID, BotHarness
from tests.factories import add_product, customer, invoice_jpeg, make_member
from tests.harness import Person, Reply

ELIGIBLE = ["BA9H040230046", "BA9H616425247", "BA9H647258771", "BA9H841330175", "BA9H820525898"]
CODES = ["AAAAA-BBBBB-CCCC1", "AAAAA-BBBBB-CCCC2", "AAAAA-BBBBB-CCCC3"]
CARD_BUTTONS = ["✅ Approve", "❌ Reject…", "👤 Customer history"]


pytestmark = pytest.mark.quiet_staff_chat


# ---- helpers (test_staff_queue.py uses them too) ----------------------------------------------
def in_staff_group(bot: BotHarness, user_id: int, name: str, username: str) -> Person:
    """A member of the staff group, seen from that group. Person() re-adds the user (with a
    username made from the name); put the fixture's username back."""
    person = Person(bot.emulator, user_id, name, chat_id=STAFF_CHAT_ID)
    bot.emulator.add_user(user_id, name, username=username)
    return person


def sam_in_group(bot: BotHarness) -> Person:
    return in_staff_group(bot, STAFF_ID, "Sam", "sam_staff")


def ada_in_group(bot: BotHarness) -> Person:
    return in_staff_group(bot, ADMIN_ID, "Ada", "ada_admin")


async def promotion_of(bot: BotHarness, slug: str = "spring-2026") -> Promotion:
    async with unit_of_work(bot.sessions) as s:
        promotion = await s.scalar(select(Promotion).where(Promotion.slug == slug))
        assert promotion is not None
        return promotion


async def import_codes(bot: BotHarness, values: list[str]) -> None:
    promotion = await promotion_of(bot)
    async with unit_of_work(bot.sessions) as s:
        report = await codes.import_codes(s, promotion, "\n".join(values), bot.clock.now())
    assert report.added == len(values)


async def member_id(bot: BotHarness, user_id: int) -> int:
    async with unit_of_work(bot.sessions) as s:
        found = await s.scalar(select(Member.id).where(Member.telegram_user_id == user_id))
        assert found is not None
        return found


async def submitted(
    bot: BotHarness,
    user_id: int,
    serial: str,
    *,
    language: str = "en",
    username: str | None = None,
    email: str | None = None,
) -> str:
    """A customer with one product and a claim submitted through the service (review card queued)."""
    if not await _exists(bot, user_id):
        await make_member(bot.sessions, user_id, language=language, email=email)
    mid = await member_id(bot, user_id)
    product = await add_product(bot, mid, serial)
    services = bot.runtime.services
    assert services is not None
    photo = services.media.save(invoice_jpeg(text=f"S/N {serial} on the product"))
    promotion = await promotion_of(bot)
    async with unit_of_work(bot.sessions) as s:
        member = await s.get(Member, mid)
        assert member is not None
        if username is not None:
            member.username = username
        draft = ClaimDraft(
            promotion.id,
            [ItemDraft(product, photo.relative_path, photo.sha256)],
            True,
            None,
            f"test-{user_id}-{serial}",
        )
        result = await claims.submit(s, member, draft, bot.clock.now(), review_chat_id=STAFF_CHAT_ID)
        return result.claim.order_id


async def in_chat(bot: BotHarness, user_id: int, name: str, language_code: str = "en") -> Person:
    """A customer who has written to the bot (Telegram lets a bot message only those)."""
    person = bot.person(user_id, name, language_code)
    await person.send("/help")
    await person.next_reply()
    return person


async def _exists(bot: BotHarness, user_id: int) -> bool:
    async with unit_of_work(bot.sessions) as s:
        return await s.scalar(select(Member.id).where(Member.telegram_user_id == user_id)) is not None


async def claim_of(bot: BotHarness, order_id: str) -> Claim:
    async with unit_of_work(bot.sessions) as s:
        claim = await s.scalar(select(Claim).where(Claim.order_id == order_id))
        assert claim is not None
        return claim


async def audit_actions(bot: BotHarness, action: str | None = None) -> list[AuditEntry]:
    async with unit_of_work(bot.sessions) as s:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list((await s.scalars(query)).all())


async def used_codes(bot: BotHarness) -> list[str]:
    async with unit_of_work(bot.sessions) as s:
        return list(
            (
                await s.scalars(
                    select(ActivationCode.code)
                    .where(ActivationCode.claim_id.is_not(None))
                    .order_by(ActivationCode.code)
                )
            ).all()
        )


async def next_card(staff: Person) -> Reply:
    """The next review card in the staff group: the album (invoice + S/N photo), then the facts."""
    album = await staff.next_reply()
    assert album.is_album and album.has_photo
    photos = [
        m
        for m in staff.emulator.messages(staff.chat_id)
        if m.get("media_group_id") == album.message.get("media_group_id")
    ]
    assert len(photos) == 2
    card = await staff.next_reply()
    assert not card.has_photo
    return card


async def redeem_in_chat(bot: BotHarness, alice: Person) -> str:
    """The customer's redeem journey for the eligible monitor; returns the order ID."""
    await alice.send("/redeem")
    await alice.expect("Tick the products")
    await alice.press("▫️ PRO MP241 (BA9H040230046)")
    await alice.next_reply()
    await alice.press("➡️ Next")
    await alice.expect("on the product itself")
    await alice.send_photo(invoice_jpeg(text="S/N BA9H040230046"))
    await alice.expect("lucky draw")
    await alice.press("Yes")
    await alice.next_reply()  # the photos
    await alice.expect("Please check your redemption")
    await alice.press("✅ Redeem")
    done = await alice.expect("Order ID")
    async with unit_of_work(bot.sessions) as s:
        order_id = await s.scalar(
            select(Claim.order_id)
            .join(Member, Member.id == Claim.member_id)
            .where(Member.telegram_user_id == alice.user_id)
        )
    assert order_id is not None and order_id in done.text
    return order_id


async def one_card_two_staff(bot: BotHarness) -> tuple[str, Person, Person, Person, Reply]:
    """A submitted claim whose card both Sam and Ada see in the staff group (codes imported)."""
    await import_codes(bot, CODES)
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    alice = await in_chat(bot, 1001, "Alice")
    sam, ada = sam_in_group(bot), ada_in_group(bot)
    await bot.runtime.tick()
    card = await next_card(sam)
    await next_card(ada)
    return order_id, alice, sam, ada, card


async def redeemed_with_card(bot: BotHarness) -> tuple[Person, Person, str, Reply]:
    """Codes imported, Alice redeems the monitor in the chat, Sam sees its card in the group."""
    await import_codes(bot, CODES)
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await member_id(bot, 1001), ELIGIBLE[0])
    order_id = await redeem_in_chat(bot, alice)
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    return alice, sam, order_id, await next_card(sam)


# ---- the journey -----------------------------------------------------------------------------
async def test_card_with_album_and_facts_then_approve_sends_the_code(bot: BotHarness) -> None:
    alice, sam, order_id, card = await redeemed_with_card(bot)
    for fact in (
        order_id,
        "attempt 1",
        "Productivity From Spring!",
        "Test User1001",
        "user1001@example.com",
        "Singapore",
        "1001",
        "Monitor PRO MP241",
        "9S6-3PA2CT-038",
        ELIGIBLE[0],
        "2026-03-03",
        "Courts",
        "Retail store",
        "Lucky draw: Yes",
        "✅ S/N BA9H040230046 registered by this customer only",
        "✅ Invoice date 2026-03-03 inside 2026-02-01 – 2026-12-31",
        "✅ Country eligible",
        "products in this promotion 1 of 3",
        "Waiting for a decision",
    ):
        assert fact in card.text, fact
    assert card.buttons == CARD_BUTTONS
    assert all(
        len(b["callback_data"].encode()) <= 64 and b["callback_data"].startswith("s:")
        for row in card.message["reply_markup"]["inline_keyboard"]
        for b in row
    )
    claim = await claim_of(bot, order_id)
    assert (claim.card_chat_id, claim.card_message_id) == (STAFF_CHAT_ID, card.message_id)

    await sam.press("✅ Approve", on=card)
    toast = await sam.next_toast()
    assert order_id in toast and CODES[0] in toast
    edited = await sam.next_reply()
    assert edited.kind == "edit" and edited.message_id == card.message_id
    assert (
        "Approved" in edited.text
        and "Sam (@sam_staff)" in edited.text
        and "2026-03-10 09:00 UTC" in edited.text
        and CODES[0] in edited.text
    )
    assert edited.buttons == []

    await bot.runtime.tick()
    message = await alice.expect("approved", "Productivity From Spring!", CODES[0], "AAAAA-BBBBB-CCCCC")
    assert order_id in message.text
    assert await used_codes(bot) == [CODES[0]]
    assert [a.subject for a in await audit_actions(bot, "claim.approved")] == [order_id]
    assert [a.subject for a in await audit_actions(bot, "code.assigned")] == [order_id]


async def test_reject_with_a_reason_button_redeem_again_and_approve(bot: BotHarness) -> None:
    alice, sam, order_id, card = await redeemed_with_card(bot)

    await sam.press("❌ Reject…", on=card)
    reasons = await sam.next_reply()
    assert reasons.kind == "edit" and reasons.message_id == card.message_id
    assert reasons.buttons == [
        "🔁 Missing purchase proof",
        "🔁 Invoice without product name",
        "🔁 S/N photo of the package",
        "🔁 Unreadable photo",
        "⛔ Invoice date outside the period",
        "✍️ Other reason…",
        "⬅️ Back",
    ]
    await sam.press("🔁 S/N photo of the package", on=reasons)
    assert "sent back for missing information" in await sam.next_toast()
    decided = await sam.next_reply()
    assert (
        "Missing information" in decided.text
        and "the package, not the product" in decided.text
        and decided.buttons == []
    )

    await bot.runtime.tick()
    message = await alice.expect("Something is missing", "The S/N photo shows the package, not the product")
    assert message.buttons == ["🔁 Redeem again"]
    claim = await claim_of(bot, order_id)
    assert claim.status == ClaimStatus.MISSING_INFO and claim.reason_code == "sn_on_package"

    # Redeem again: only the S/N photo, then confirm.
    await alice.press("🔁 Redeem again")
    await alice.expect("Redeem again", order_id)
    await alice.expect("Send only what needs fixing")
    await alice.press("📷 New S/N photo — PRO MP241")
    await alice.expect("on the product itself")
    await alice.send_photo(invoice_jpeg(text="S/N on the back of the monitor itself"))
    await alice.expect("Send only what needs fixing")
    await alice.press("➡️ Review and redeem again")
    await alice.next_reply()
    await alice.expect("Please check your redemption")
    await alice.press("✅ Redeem")
    await alice.expect(order_id)

    await bot.runtime.tick()
    second = await next_card(sam)
    assert second.message_id != card.message_id
    for fact in (
        "attempt 2",
        "Earlier decisions",
        "#1",
        "Missing information",
        "the package, not the product",
        "(Sam)",
    ):
        assert fact in second.text, fact
    assert second.buttons == CARD_BUTTONS
    await sam.press("✅ Approve", on=second)
    assert CODES[0] in await sam.next_toast()
    assert "Approved" in (await sam.next_reply()).text
    await bot.runtime.tick()
    await alice.expect("approved", CODES[0])
    assert (await claim_of(bot, order_id)).status == ClaimStatus.APPROVED


async def test_reason_reaches_the_customer_in_their_language_and_back_restores_buttons(bot: BotHarness) -> None:
    order_id = await submitted(bot, 1002, ELIGIBLE[1], language="zh-Hant")
    bao = await in_chat(bot, 1002, "Bao", "zh-Hant")
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    card = await next_card(sam)
    await sam.press("❌ Reject…", on=card)
    await sam.next_reply()
    await sam.press("⬅️ Back")
    back = await sam.next_reply()
    assert back.kind == "edit" and back.buttons == CARD_BUTTONS
    await sam.press("❌ Reject…", on=back)
    await sam.next_reply()
    await sam.press("⛔ Invoice date outside the period")
    assert "not qualified (final)" in await sam.next_toast()
    await bot.runtime.tick()
    message = await bao.expect("不符合資格", "發票日期不在本活動的發票期間內")
    assert message.buttons == []  # final: no Redeem again
    claim = await claim_of(bot, order_id)
    assert claim.status == ClaimStatus.REJECTED and claim.reason_code == "invoice_date_outside"
    assert claim.reason == "發票日期不在本活動的發票期間內，因此此筆購買不符合資格。"  # /status repeats it in Chinese


async def test_canned_reasons_per_language_and_free_text(bot: BotHarness) -> None:
    sam = sam_in_group(bot)
    await sam.send(
        "/reasons add blurry_invoice en: The invoice photo is blurry; please send a sharp one. | zh-Hant: 發票照片模糊，請重新上傳清晰的照片。"
    )
    await sam.expect("Reason", "blurry_invoice", "added")
    await sam.send("/reasons add blurry_invoice en: again")
    await sam.expect("already a reason blurry_invoice")
    await sam.send("/reasons add 9-bad en: x")
    await sam.expect("A code is 2-32 characters")
    await sam.send("/reasons add wrong_shop final en: The store is not a participating reseller.")
    await sam.expect("wrong_shop", "final", "English until you add their text")
    await sam.send("/reasons")
    listing = await sam.expect("sn_on_package", "invoice_date_outside", "blurry_invoice", "wrong_shop", "發票照片模糊")
    assert "Please provide the invoice with your product name on it" in listing.text
    async with unit_of_work(bot.sessions) as s:
        assert {c.code: c.fixable for c in (await s.scalars(select(CannedReason))).all()} == {
            "blurry_invoice": True,
            "wrong_shop": False,
        }

    chinese = await submitted(bot, 1002, ELIGIBLE[1], language="zh-Hant")
    english = await submitted(bot, 1001, ELIGIBLE[0])
    free = await submitted(bot, 1003, ELIGIBLE[2])
    bao, alice, carl = (
        await in_chat(bot, 1002, "Bao", "zh-Hant"),
        await in_chat(bot, 1001, "Alice"),
        await in_chat(bot, 1003, "Carl"),
    )
    await bot.runtime.tick()
    card = await next_card(sam)
    await next_card(sam)
    await next_card(sam)
    await sam.press("❌ Reject…", on=card)
    buttons = (await sam.next_reply()).buttons
    assert (
        "🔁 The invoice photo is blurry; please…" in buttons and "⛔ The store is not a participating…" in buttons
    )  # canned reasons are buttons too

    await sam.send(f"/reject {chinese} blurry_invoice")
    await sam.expect("sent back for missing information", "[blurry_invoice] 發票照片模糊")
    assert (await sam.next_reply()).message_id == card.message_id  # the card shows the decision
    await sam.send(f"/reject {english.upper()} wrong_shop")
    await sam.expect("not qualified (final)", "participating reseller")
    await sam.expect("Not qualified by Sam", "[wrong_shop]")
    await sam.send(f"/reject {free} Please   send the whole invoice, not only the top.")
    await sam.expect("missing information", "Please send the whole invoice")
    await sam.expect("Missing information by Sam", "Reason: Please send the whole invoice")
    await sam.send(f"/reject {free} again")
    await sam.expect("already decided", "Sam (@sam_staff)")
    await bot.runtime.tick()
    assert (await bao.expect("發票照片模糊，請重新上傳清晰的照片。")).buttons == ["🔁 再次兌換"]
    assert (await alice.expect("not qualified", "The store is not a participating reseller.")).buttons == []
    assert (await carl.expect("Please   send the whole invoice")).buttons == ["🔁 Redeem again"]
    assert (await claim_of(bot, chinese)).reason_code == "blurry_invoice"

    await sam.send("/reasons remove wrong_shop")
    await sam.expect("removed")
    await sam.send(f"/reject {free}")
    await sam.expect("Usage", "missing_proof", "blurry_invoice")


async def test_non_staff_are_refused_every_staff_command_and_button(bot: BotHarness) -> None:
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    await import_codes(bot, CODES)
    eve = await customer(bot, 1005, "Eve")
    commands = [
        f"/approve {order_id}",
        f"/reject {order_id} nope",
        f"/reopen {order_id}",
        "/queue",
        "/next",
        f"/find {order_id}",
        "/stats",
        "/reasons",
        "/reasons add x1 en: y",
    ]
    for command in commands:
        await eve.send(command)
        await eve.expect("only")
    refused = await audit_actions(bot, "staff.refused")
    assert [a.actor_user_id for a in refused] == [1005] * len(commands)
    assert [a.subject for a in refused] == [
        "approve",
        "reject",
        "reopen",
        "queue",
        "next",
        "find",
        "stats",
        "reasons",
        "reasons",
    ]

    # A non-staff member of the staff group pressing a card's button.
    bot.emulator.add_user(1006, "Mallory", username="mallory")
    bot.emulator.add_group(STAFF_CHAT_ID, "Redemption staff", [STAFF_ID, ADMIN_ID, 1006])
    mallory = in_staff_group(bot, 1006, "Mallory", "mallory")
    await bot.runtime.tick()
    card = await next_card(mallory)
    await mallory.press("✅ Approve", on=card)
    assert "only" in await mallory.next_toast()
    await mallory.send("/approve " + order_id)
    await mallory.expect("only")

    claim = await claim_of(bot, order_id)
    assert claim.status == ClaimStatus.REVIEW and claim.decided_by is None
    assert await used_codes(bot) == []
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(func.count()).select_from(CannedReason)) == 0
    assert len(await audit_actions(bot, "staff.refused")) == len(commands) + 2


async def test_two_staff_approve_the_same_claim_at_once(bot: BotHarness) -> None:
    order_id, alice, sam, ada, card = await one_card_two_staff(bot)
    await asyncio.gather(sam.press("✅ Approve", on=card), ada.press("✅ Approve", on=card))
    toasts = sorted([await sam.next_toast(), await sam.next_toast()])
    winner = [t for t in toasts if "approved; code" in t]
    loser = [t for t in toasts if "already decided" in t]
    assert len(winner) == 1 and len(loser) == 1, toasts
    claim = await claim_of(bot, order_id)
    name = {STAFF_ID: "Sam (@sam_staff)", ADMIN_ID: "Ada (@ada_admin)"}[claim.decided_by or 0]
    assert name in loser[0] and "Approved" in loser[0]
    assert await used_codes(bot) == [CODES[0]]
    await bot.runtime.tick()
    await alice.expect("approved", CODES[0])
    async with unit_of_work(bot.sessions) as s:
        decisions = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "decision")
        )
    assert decisions == 1
    assert len(await audit_actions(bot, "claim.decision_refused")) == 1

    # The same race through the service, two sessions: one decision, the other told who and how.
    other = await submitted(bot, 1002, ELIGIBLE[1])

    async def approve(staff_id: int) -> str:
        async with unit_of_work(bot.sessions) as s:
            try:
                decision = await review.approve(s, other, staff_id, bot.clock.now(), actor=review.Actor(staff_id, "S"))
            except review.DecisionRefused as refused:
                assert refused.error == review.DecisionError.ALREADY_DECIDED and refused.claim is not None
                assert refused.claim.status == ClaimStatus.APPROVED and refused.claim.decided_by in (STAFF_ID, ADMIN_ID)
                return "refused"
            return f"code {decision.code}"

    outcomes = sorted(await asyncio.gather(approve(STAFF_ID), approve(ADMIN_ID)))
    assert outcomes == [f"code {CODES[1]}", "refused"]
    assert await used_codes(bot) == CODES[:2]


async def test_codes_run_out_and_the_claim_stays_in_review(bot: BotHarness) -> None:
    bot.settings.low_codes_warning = 20
    await import_codes(bot, CODES[:1])
    first = await submitted(bot, 1001, ELIGIBLE[0])
    second = await submitted(bot, 1002, ELIGIBLE[1])
    third = await submitted(bot, 1003, ELIGIBLE[2])
    for user_id, name in ((1001, "Alice"), (1002, "Bob"), (1003, "Carl")):
        await in_chat(bot, user_id, name)
    sam = sam_in_group(bot)
    await sam.send(f"/approve {first}")
    await sam.expect("approved", CODES[0], "0 left")
    await sam.send(f"/approve {second}")
    await sam.expect("No activation codes left", "stays in review")
    claim = await claim_of(bot, second)
    assert claim.status == ClaimStatus.REVIEW and claim.decided_by is None
    assert [a.details["error"] for a in await audit_actions(bot, "claim.decision_refused")] == ["no_codes_left"]
    # A code typed by staff: it must have the promotion's shape, and is used once.
    await sam.send(f"/approve {second} not-a-code")
    await sam.expect("does not look like")
    await sam.send(f"/approve {second} zzzzz-yyyyy-xxxx9")
    await sam.expect("approved", "ZZZZZ-YYYYY-XXXX9")
    await sam.send(f"/approve {third} ZZZZZ-YYYYY-XXXX9")
    await sam.expect("already assigned to another claim")
    await sam.send("/approve nosuchorder")
    await sam.expect("No claim with order ID nosuchorder")
    await sam.send("/approve")
    await sam.expect("Usage")
    assert (await claim_of(bot, third)).status == ClaimStatus.REVIEW

    await bot.runtime.tick()  # three cards, then the warning that codes ran out (once)
    texts = [m.get("text", "") for m in bot.emulator.messages(STAFF_CHAT_ID) if m.get("from", {}).get("is_bot")]
    assert sum("Approvals are refused until" in t for t in texts) == 1


async def test_low_codes_warning_once_when_the_stock_crosses_the_threshold(bot: BotHarness) -> None:
    bot.settings.low_codes_warning = 2
    await import_codes(bot, CODES)
    orders = [await submitted(bot, 1001 + i, ELIGIBLE[i]) for i in range(3)]
    sam = sam_in_group(bot)
    for order_id in orders:
        await sam.send(f"/approve {order_id}")
        await sam.expect("approved")
    async with unit_of_work(bot.sessions) as s:
        notices = list(
            (
                await s.scalars(
                    select(OutboxMessage).where(OutboxMessage.kind == "staff_notice").order_by(OutboxMessage.id)
                )
            ).all()
        )
    assert [(n.chat_id, n.payload["key"], n.payload["values"]["left"]) for n in notices] == [
        (STAFF_CHAT_ID, "staff.codes_low", 1),
        (STAFF_CHAT_ID, "staff.codes_out", 0),
    ]


async def test_reopen_is_for_admins_and_keeps_the_code(bot: BotHarness) -> None:
    order_id, alice, sam, ada, first = await one_card_two_staff(bot)
    await sam.send(f"/approve {order_id}")
    await sam.expect("approved", CODES[0])
    assert (await sam.next_reply()).message_id == first.message_id  # the card shows the decision
    await sam.send(f"/reopen {order_id}")
    await sam.expect("only")
    assert (await claim_of(bot, order_id)).status == ClaimStatus.APPROVED
    assert [a.subject for a in await audit_actions(bot, "staff.refused")] == ["reopen"]

    ada.cursor = bot.emulator.last_seq
    await ada.send(f"/reopen {order_id}")
    await ada.expect("back in review")
    await ada.send(f"/reopen {order_id}")
    await ada.expect("in review already")
    claim = await claim_of(bot, order_id)
    assert claim.status == ClaimStatus.REVIEW and claim.decided_by is None
    assert [a.actor_user_id for a in await audit_actions(bot, "claim.reopened")] == [ADMIN_ID]

    sam.cursor = bot.emulator.last_seq
    await bot.runtime.tick()
    await alice.expect("approved", CODES[0])
    await alice.expect("being looked at again", order_id)
    card = await next_card(sam)  # a new card for the reopened claim; the first one keeps the old decision
    assert (
        "Approved"
        in [m for m in bot.emulator.messages(STAFF_CHAT_ID) if m["message_id"] == first.message_id][0]["text"]
    )
    assert "Reopened" in card.text and "Approved" in card.text and card.buttons == CARD_BUTTONS
    await sam.press("✅ Approve", on=card)
    assert CODES[0] in await sam.next_toast()
    assert await used_codes(bot) == [CODES[0]]  # the same code again, none burnt


async def test_a_card_whose_text_hits_a_flood_limit_is_not_sent_twice(bot: BotHarness) -> None:
    """The album went out, the text got 429: the retry sends only the text."""
    from datetime import timedelta

    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    sam = sam_in_group(bot)
    bot.emulator.fail(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1, times=1
    )
    await bot.runtime.tick()
    bot.clock.advance(timedelta(seconds=2))
    await bot.runtime.tick()
    card = await next_card(sam)
    assert order_id in card.text
    albums = [call for call in bot.emulator.calls if call[0] == "sendMediaGroup"]
    assert len(albums) == 1
