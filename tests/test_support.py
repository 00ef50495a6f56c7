"""Support end to end: a customer writes to staff and back, with a photo each way, in a staff
group with topics (one forum topic per customer) and without (staff reply to the message); dead
ends become requests staff resolve (/serial add, /product transfer); "Other reason…" takes a
reply to its prompt as the reason, with a note when it is not in the customer's language."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from storage.db import unit_of_work
from storage.models import AuditEntry, Claim, ClaimStatus, RegisteredProduct
from storage.support_models import StaffPrompt, SupportMessage, SupportThread
from tests.conftest import STAFF_CHAT_ID, STAFF_ID, BotHarness
from tests.factories import add_product, customer, distinct_photo, make_member
from tests.harness import Person, Reply
from tests.test_register import _to_serial, register_product
from tests.test_staff_review import ELIGIBLE, in_chat, member_id, next_card, sam_in_group, submitted

pytestmark = pytest.mark.quiet_staff_chat

UNKNOWN = "BA9H123456789"  # the monitor's shape, not in the demo catalogue
MONITOR = "9S6-3PA2CT-038"


async def staff_messages(bot: BotHarness, user_id: int) -> list[SupportMessage]:
    owner = await member_id(bot, user_id)
    async with unit_of_work(bot.sessions) as s:
        query = (
            select(SupportMessage)
            .join(SupportThread, SupportThread.id == SupportMessage.thread_id)
            .where(SupportThread.member_id == owner)
            .order_by(SupportMessage.id)
        )
        return list((await s.scalars(query)).all())


async def audit(bot: BotHarness, action: str) -> list[AuditEntry]:
    async with unit_of_work(bot.sessions) as s:
        return list((await s.scalars(select(AuditEntry).where(AuditEntry.action == action))).all())


async def staff_sees(sam: Person) -> Reply:
    """The next message in the staff chat that is not a topic's service message."""
    while True:
        reply = await sam.next_reply()
        if "forum_topic_created" not in reply.message:
            return reply


async def customer_writes(bot: BotHarness, alice: Person, text: str, photo: bytes) -> None:
    await alice.send("/support")
    await alice.expect("Write to our support team", "order IDs")
    await alice.send(text)
    await alice.expect("Sent to our support team")
    await alice.send_photo(photo, caption="This is how it looks")
    await alice.expect("Sent to our support team")


async def staff_replies(
    bot: BotHarness, sam: Person, *, reply_to: tuple[int, int] | None = None, thread: int | None = None
) -> None:
    """Sam answers with a text and then a photo: replying to the two messages, or in the topic."""
    emulator = bot.emulator
    first, second = reply_to if reply_to is not None else (None, None)
    await emulator.user_sends_text(
        STAFF_ID, "Please try the other cable", chat_id=STAFF_CHAT_ID, reply_to=first, thread_id=thread
    )
    ack = await sam.expect("Sent to the customer")
    assert ack.message.get("message_thread_id") == thread
    await emulator.user_sends_photo(
        STAFF_ID,
        distinct_photo("cable"),
        caption="Plug it in here",
        chat_id=STAFF_CHAT_ID,
        reply_to=second,
        thread_id=thread,
    )
    await sam.expect("Sent to the customer")


async def answers_reach_the_customer(bot: BotHarness, alice: Person) -> None:
    await bot.runtime.tick()
    answer = await alice.expect("Our support team", "try the other cable")
    assert "✍️ Answer" in answer.buttons
    photo = await alice.expect("Plug it in here")
    assert photo.has_photo
    rows = await staff_messages(bot, alice.user_id)
    assert [(m.direction, m.text, m.photo_file_id is not None) for m in rows] == [
        ("in", "My monitor flickers", False),
        ("in", "This is how it looks", True),
        ("out", "Please try the other cable", False),
        ("out", "Plug it in here", True),
    ]
    assert rows[2].author_user_id == STAFF_ID
    assert all(m.staff_message_id is not None for m in rows[:2])  # where staff saw them


async def test_support_round_trip_in_reply_mode(bot: BotHarness) -> None:
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    alice = await in_chat(bot, 1001, "Alice")
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    await next_card(sam)

    await customer_writes(bot, alice, "My monitor flickers", distinct_photo("flicker"))
    await bot.runtime.tick()
    posted = await sam.expect("Support message", "Test User1001", order_id, "My monitor flickers", "Reply to this")
    assert "message_thread_id" not in posted.message  # no topics in this group
    photo = await sam.expect("This is how it looks")
    assert photo.has_photo  # the customer's photo, its caption the message

    # a message in the group that replies to nothing is staff talking among themselves: left alone
    await bot.emulator.user_sends_text(STAFF_ID, "Who takes this one?", chat_id=STAFF_CHAT_ID)
    await staff_replies(bot, sam, reply_to=(posted.message_id, photo.message_id))
    await answers_reach_the_customer(bot, alice)

    await alice.press("✔️ Done")
    await alice.expect("Thank you")
    # the thread is on the customer's card (/next shows it in the group)
    await bot.emulator.user_sends_text(STAFF_ID, "/next", chat_id=STAFF_CHAT_ID)
    await sam.next_reply()  # the album
    await sam.expect(order_id, "Support thread", "4 messages", "My monitor flickers", "Sam")


@pytest.fixture
def forum(bot: BotHarness) -> None:
    bot.emulator.make_forum(STAFF_CHAT_ID)


async def test_support_round_trip_in_a_forum_topic(bot: BotHarness, forum: None) -> None:
    alice = await customer(bot, 1001, "Alice")
    sam = sam_in_group(bot)
    await customer_writes(bot, alice, "My monitor flickers", distinct_photo("flicker"))
    await bot.runtime.tick()
    created = await sam.next_reply()
    assert created.message["forum_topic_created"]["name"] == "Test User1001 · 1001"
    topic = created.message["message_thread_id"]
    posted = await sam.expect("Support message", "My monitor flickers", "Write in this topic")
    assert posted.message["message_thread_id"] == topic and posted.message["is_topic_message"]
    photo = await sam.expect("This is how it looks")
    assert photo.has_photo and photo.message["message_thread_id"] == topic
    assert "Write in this topic" not in photo.text  # the hint comes once per topic

    await bot.emulator.user_sends_text(STAFF_ID, "/serial add", chat_id=STAFF_CHAT_ID, thread_id=topic)
    usage = await sam.expect("Usage: /serial add")  # a command typed in the topic is answered there
    assert usage.message["message_thread_id"] == topic
    await staff_replies(bot, sam, thread=topic)  # written in the topic, quoting nothing
    await answers_reach_the_customer(bot, alice)

    await alice.send("Thanks, that fixed it")  # still writing: the same topic, no second one
    await alice.expect("Sent to our support team")
    await bot.runtime.tick()
    again = await staff_sees(sam)
    assert "Thanks, that fixed it" in again.text and again.message["message_thread_id"] == topic
    assert list(bot.emulator.topics(STAFF_CHAT_ID)) == [topic]
    async with unit_of_work(bot.sessions) as s:
        thread = await s.scalar(select(SupportThread))
        assert thread is not None and thread.topic_id == topic and thread.staff_chat_id == STAFF_CHAT_ID


async def test_unknown_serial_becomes_a_request_staff_add_it_and_the_customer_registers_it(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    sam = sam_in_group(bot)
    await _to_serial(alice)
    await alice.send(UNKNOWN)
    dead_end = await alice.expect("can't find the serial number", UNKNOWN)
    await alice.press("✉️ Ask our support about this serial", on=dead_end)
    await alice.expect("Ask our support about", UNKNOWN, "photo of the serial-number label")
    await alice.send_photo(distinct_photo("label"), caption="The label on my new monitor")
    await alice.expect("Sent to our support team")
    await bot.runtime.tick()
    request = await sam.expect("Serial not in the catalogue", UNKNOWN, f"/serial add {UNKNOWN}", "new monitor")
    assert request.has_photo

    await bot.emulator.user_sends_text(STAFF_ID, f"/serial add {UNKNOWN} {MONITOR}", chat_id=STAFF_CHAT_ID)
    await sam.expect("The CHK of", "is needed")  # a listed model: the CHK from the sticker is needed
    await bot.emulator.user_sends_text(STAFF_ID, f"/serial add {UNKNOWN} {MONITOR} 777", chat_id=STAFF_CHAT_ID)
    await sam.expect(UNKNOWN, "added to", MONITOR, "told they can register it: 1")
    await bot.emulator.user_sends_text(STAFF_ID, f"/serial add {UNKNOWN} {MONITOR} 777", chat_id=STAFF_CHAT_ID)
    await sam.expect("already in the catalogue")  # twice changes nothing
    await bot.runtime.tick()
    await alice.expect("now in our catalogue", UNKNOWN, "/register")

    await alice.press("✔️ Done")
    await alice.expect("Thank you")
    await register_product(alice, serial=UNKNOWN, chk="777")
    alice_id = await member_id(bot, 1001)
    async with unit_of_work(bot.sessions) as s:
        product = await s.scalar(select(RegisteredProduct).where(RegisteredProduct.serial == UNKNOWN))
        assert product is not None and product.member_id == alice_id
    [added] = await audit(bot, "catalogue.serial_added")
    assert added.subject == UNKNOWN and added.actor_user_id == STAFF_ID and added.details == {"model": MONITOR}
    [asked] = [m for m in await staff_messages(bot, 1001) if m.subject == "unknown_serial"]
    assert asked.serial == UNKNOWN and asked.resolved_at is not None


async def test_a_serial_of_another_account_is_transferred_by_staff_with_an_audit_entry(bot: BotHarness) -> None:
    serial = ELIGIBLE[1]
    bob_id = await make_member(bot.sessions, 1002)
    await add_product(bot, bob_id, serial)
    bob = bot.person(1002, "Bob")
    await bob.send("/help")
    await bob.next_reply()
    alice = await customer(bot, 1001, "Alice")
    sam = sam_in_group(bot)
    await _to_serial(alice)
    await alice.send(serial)
    taken = await alice.expect("already registered to another account")
    await alice.press("✉️ Ask our support — it's mine", on=taken)
    await alice.expect("Ask our support about", serial)
    await alice.send("I bought it second-hand from Bob")
    await alice.expect("Sent to our support team")
    await bot.runtime.tick()
    await sam.expect("registered to another account", f"/product transfer {serial} 1001", "second-hand")

    await bot.emulator.user_sends_text(
        STAFF_ID, f"/product transfer {serial} nobody@example.com", chat_id=STAFF_CHAT_ID
    )
    await sam.expect("I know no customer")
    await bot.emulator.user_sends_text(STAFF_ID, f"/product transfer {serial} 1001", chat_id=STAFF_CHAT_ID)
    await sam.expect(serial, "moved from", "id 1002", "id 1001")
    await bot.runtime.tick()
    await alice.expect("is now registered to your account", serial)
    await bob.expect("was moved to its new owner", serial)

    alice_id = await member_id(bot, 1001)
    async with unit_of_work(bot.sessions) as s:
        product = await s.scalar(select(RegisteredProduct).where(RegisteredProduct.serial == serial))
        assert product is not None and product.member_id == alice_id
    [moved] = await audit(bot, "product.transferred")
    assert moved.subject == serial and moved.actor_user_id == STAFF_ID
    assert moved.details["from_member_id"] == bob_id and moved.details["to_member_id"] == alice_id
    await alice.press("✔️ Done")
    await alice.expect("Thank you")
    await alice.send("/products")
    await alice.expect(serial)


async def _reject_by_reply(bot: BotHarness, sam: Person, reason: str) -> Reply:
    card = await next_card(sam)
    await sam.press("❌ Reject…", on=card)
    await sam.next_reply()  # the card's buttons become the reasons
    await sam.press("✍️ Other reason…", on=card)
    prompt = await sam.expect("Reply to this message with the reason", "sending back")
    markup = prompt.event.reply_markup or {}
    assert markup.get("force_reply") is True
    await bot.emulator.user_sends_text(STAFF_ID, reason, chat_id=STAFF_CHAT_ID, reply_to=prompt.message_id)
    return prompt


async def test_other_reason_is_a_reply_to_a_prompt_with_a_note_in_another_language(bot: BotHarness) -> None:
    order_id = await submitted(bot, 1002, ELIGIBLE[0], language="zh-Hant")
    bao = await in_chat(bot, 1002, "Bao", "zh-Hant")
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    prompt = await _reject_by_reply(bot, sam, "The invoice photo is blurry, please send a sharper one")
    await sam.expect(order_id, "sent back for missing information", "blurry")
    edited = await sam.next_reply()  # the card shows the decision
    assert edited.kind == "edit" and "blurry" in edited.text
    await bot.runtime.tick()
    told = await bao.expect("The invoice photo is blurry", "親自寫下的原文")
    assert told.buttons  # fixable: Redeem again
    async with unit_of_work(bot.sessions) as s:
        claim = await s.scalar(select(Claim).where(Claim.order_id == order_id))
        assert claim is not None and claim.status == ClaimStatus.MISSING_INFO
        assert claim.reason == "The invoice photo is blurry, please send a sharper one"
        used = await s.scalar(select(StaffPrompt).where(StaffPrompt.message_id == prompt.message_id))
        assert used is not None and used.used_at is not None and used.claim_id == claim.id

    # a second reply to the same prompt changes nothing
    await bot.emulator.user_sends_text(STAFF_ID, "final: no", chat_id=STAFF_CHAT_ID, reply_to=prompt.message_id)
    await sam.expect("was decided or re-submitted since this prompt")


async def test_other_reason_in_the_customers_language_has_no_note(bot: BotHarness) -> None:
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    alice = await in_chat(bot, 1001, "Alice")
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    await _reject_by_reply(bot, sam, "final: The product was bought outside the region")
    await sam.expect(order_id, "The product was bought outside the region")
    await bot.runtime.tick()
    told = await alice.expect("The product was bought outside the region")
    assert "own words" not in told.text and not told.buttons  # final: no Redeem again


async def test_a_missing_chk_sticker_becomes_a_request_with_the_catalogues_chk_for_staff(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    sam = sam_in_group(bot)
    await _to_serial(alice)
    await alice.send(ELIGIBLE[0])
    await alice.expect("Is this your product")
    await alice.press("✅ Yes, that's mine")
    chk = await alice.expect("CHK")
    await alice.press("✉️ I can't find the CHK sticker", on=chk)
    await alice.expect("No CHK sticker on", ELIGIBLE[0])
    await alice.send_photo(distinct_photo("no-sticker"), caption="No sticker anywhere")
    await alice.expect("Sent to our support team")
    await bot.runtime.tick()
    request = await sam.expect("No CHK sticker on", ELIGIBLE[0], "the catalogue's CHK: 318", "No sticker anywhere")
    assert request.has_photo
    [asked] = await staff_messages(bot, 1001)
    assert (asked.subject, asked.serial, asked.photo_file_id is not None) == ("no_chk", ELIGIBLE[0], True)
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(RegisteredProduct).where(RegisteredProduct.serial == ELIGIBLE[0])) is None


async def test_the_thread_is_in_mydata_and_deleteme_erases_it(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await alice.send("/support")
    await alice.expect("Write to our support team")
    await alice.send("Where is my code?")
    await alice.expect("Sent to our support team")
    await alice.press("✔️ Done")
    await alice.expect("Thank you")
    await alice.send("/mydata")
    document = (await alice.expect("Your data")).document
    assert document is not None
    data = json.loads(bot.emulator.file_bytes(document["file_id"]))
    assert [(m["from"], m["text"]) for m in data["support_messages"]] == [("you", "Where is my code?")]

    await alice.send("/deleteme")
    await alice.expect("Delete all your data?")
    await alice.press("🗑 Yes, delete everything")
    await alice.expect("Your data is deleted")
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(SupportThread)) is None
        assert await s.scalar(select(SupportMessage)) is None
