"""The staff's overview: /queue, /next, /find, /stats, customer history, /help, in the group and in private."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.db import unit_of_work
from tests.conftest import ADMIN_ID, STAFF_ID, BotHarness
from tests.factories import add_product
from tests.harness import Person
from tests.test_staff_review import (
    CARD_BUTTONS,
    CODES,
    ELIGIBLE,
    ada_in_group,
    claim_of,
    import_codes,
    in_chat,
    member_id,
    next_card,
    sam_in_group,
    submitted,
)

pytestmark = pytest.mark.quiet_staff_chat


async def test_queue_lists_claims_oldest_first_with_their_age(bot: BotHarness) -> None:
    await import_codes(bot, CODES)
    sam = sam_in_group(bot)
    await sam.send("/queue")
    await sam.expect("No claims are waiting")
    older = await submitted(bot, 1001, ELIGIBLE[0])
    bot.clock.advance(timedelta(hours=2))
    newer = await submitted(bot, 1002, ELIGIBLE[1])
    bot.clock.advance(timedelta(days=1, minutes=30))
    await sam.send("/queue")
    listing = await sam.expect("2 claims under review", "oldest first")
    first, second = listing.text.index(older), listing.text.index(newer)
    assert first < second
    assert "waiting 1d 2h" in listing.text[first:second] and "waiting 1d 0h" in listing.text[second:]
    assert "PRO MP241 BA9H040230046" in listing.text and "Under review" in listing.text

    await sam.send(f"/approve {older}")
    await sam.expect("approved")
    await sam.send("/queue")
    listing = await sam.expect("One claim under review")
    assert older not in listing.text and newer in listing.text


async def test_next_gives_two_staff_different_claims_and_the_card_works(bot: BotHarness) -> None:
    await import_codes(bot, CODES)
    older = await submitted(bot, 1001, ELIGIBLE[0])
    bot.clock.advance(timedelta(minutes=5))
    newer = await submitted(bot, 1002, ELIGIBLE[1])
    sam, ada = sam_in_group(bot), ada_in_group(bot)
    await sam.send("/next")
    card = await next_card(sam)
    assert older in card.text and card.buttons == CARD_BUTTONS
    ada.cursor = bot.emulator.last_seq
    await ada.send("/next")
    other = await next_card(ada)
    assert newer in other.text  # Sam picked the older one a moment ago
    sam.cursor = bot.emulator.last_seq
    await sam.send("/next")
    assert older in (await next_card(sam)).text  # still his

    await sam.press("✅ Approve", on=card)
    assert CODES[0] in await sam.next_toast()
    assert "Approved" in (await sam.next_reply()).text
    assert (await claim_of(bot, older)).card_message_id == card.message_id  # the first card /next sent

    # In a private chat with the bot, too.
    private = Person(bot.emulator, STAFF_ID, "Sam")
    bot.emulator.add_user(STAFF_ID, "Sam", username="sam_staff")
    bot.clock.advance(timedelta(minutes=20))  # Ada's pick has expired
    await private.send("/next")
    card = await next_card(private)
    assert newer in card.text
    await private.press("❌ Reject…", on=card)
    await private.next_reply()
    await private.press("🔁 Unreadable photo")
    assert "missing information" in await private.next_toast()
    assert (await private.next_reply()).buttons == []  # the card shows the decision
    await private.send("/next")
    await private.expect("Nothing waiting")


async def test_find_by_order_serial_user_email_and_id(bot: BotHarness) -> None:
    first = await submitted(bot, 1001, ELIGIBLE[0], username="alice_t", email="alice@example.com")
    bot.clock.advance(timedelta(hours=1))
    second = await submitted(bot, 1001, ELIGIBLE[2])
    other = await submitted(bot, 1003, ELIGIBLE[3])
    sam = sam_in_group(bot)

    await sam.send(f"/find {first.upper()}")
    card = await sam.expect(first, "Claim", "@alice_t", "alice@example.com")  # one claim: its card, with buttons
    assert card.buttons == CARD_BUTTONS
    await sam.send(f"/find {ELIGIBLE[3].lower()}")
    assert other in (await sam.expect("Claim")).text
    for query in ("@Alice_T", "ALICE@example.com", "1001"):
        await sam.send(f"/find {query}")
        found = await sam.expect("2 claims for", "newest first")
        assert found.text.index(second) < found.text.index(first) and other not in found.text
    await sam.send("/find nothing-like-this")
    await sam.expect("No claim found for nothing-like-this")
    await sam.send("/find")
    await sam.expect("Usage")


async def test_customer_history_button(bot: BotHarness) -> None:
    first = await submitted(bot, 1001, ELIGIBLE[0], username="alice_t")
    async with unit_of_work(bot.sessions) as s:
        from storage import review

        await review.reject(s, first, STAFF_ID, "Blurry invoice", bot.clock.now(), fixable=False)
    await add_product(bot, await member_id(bot, 1001), ELIGIBLE[1])
    bot.clock.advance(timedelta(hours=1))
    second = await submitted(bot, 1001, ELIGIBLE[2])
    await in_chat(bot, 1001, "Alice")  # so that the rejection reaches her
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    await next_card(sam)  # the first claim's card (already decided: no buttons)
    card = await next_card(sam)
    await sam.press("👤 Customer history", on=card)
    history = await sam.expect("Test User1001", "@alice_t", "registered products: 3 · claims: 2")
    assert history.text.index(second) < history.text.index(first)
    assert "Not qualified" in history.text and "Reason: Blurry invoice" in history.text


async def test_stats_counts_median_codes_and_failed_messages(bot: BotHarness) -> None:
    await import_codes(bot, CODES)
    sam = sam_in_group(bot)
    await sam.send("/stats")
    await sam.expect("Statistics", "0 in review", "3 codes left", "No decisions yet", "could not be delivered: 0")
    orders = [await submitted(bot, 1001 + i, ELIGIBLE[i]) for i in range(4)]
    for i, name in enumerate(("Alice", "Bob", "Carl", "Dan")):
        await in_chat(bot, 1001 + i, name)
    bot.emulator.block_bot(1001)  # Alice's approval cannot be delivered
    bot.clock.advance(timedelta(hours=1))
    await sam.send(f"/approve {orders[0]}")
    await sam.expect("approved")
    bot.clock.advance(timedelta(hours=2))
    await sam.send(f"/reject {orders[1]} missing_proof")
    await sam.expect("missing information")
    bot.clock.advance(timedelta(hours=2))
    await sam.send(f"/reject {orders[2]} invoice_date_outside")
    await sam.expect("not qualified")
    await bot.runtime.tick()
    sam.cursor = bot.emulator.last_seq
    await sam.send("/stats")
    stats = await sam.expect(
        "Productivity From Spring!", "1 in review", "1 missing info", "1 not qualified", "1 approved", "2 codes left"
    )
    assert "Median time to decision: 3h 0m (3 decided)" in stats.text  # 1h, 3h, 5h
    assert "Oldest claim waiting: 5h 0m" in stats.text
    assert "could not be delivered: 1" in stats.text


async def test_help_in_the_group_and_staff_commands_in_private(bot: BotHarness) -> None:
    ada = ada_in_group(bot)
    await ada.send("/help")
    await ada.expect("Staff commands", "/queue", "/reopen")
    private = Person(bot.emulator, ADMIN_ID, "Ada")
    await private.send("/queue")
    await private.expect("No claims are waiting")
    stranger = bot.person(1009, "Stranger")  # /help in a private chat stays the customer's
    await stranger.send("/help")
    assert "Staff commands" not in (await stranger.next_reply()).text
