"""The outbox dispatcher, end to end through the emulator: floods, restarts, blocked users, outages.

The bot runs with a 0.05 s per-chat interval (not Telegram's 1 s), so these tests are fast; the
fake clock stands in for `not_before` (retry_after and backoff), and `runtime.tick()` runs one
dispatcher pass. Waiting out a 429 still takes real time (the pacer pauses that chat for
`retry_after` seconds).

The interval is checked where Telegram would check it: on the emulator's `send_log`, i.e. when
each request *arrived*. The pacer counts a chat's interval from the end of the previous request
(which is after its arrival), so the gap between arrivals is never shorter than the interval.

Faults are set before messages are queued: the runtime's background loop makes one pass at start
and may run at any await, and it must meet the same faults as the test's own ticks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.outbox import GLOBAL, render_text, render_value, unreachable
from conversations.turn import GLOBAL as CUSTOMER_GLOBAL
from emulator import Emulator
from locales.i18n import Translator
from storage import outbox
from storage.db import unit_of_work
from storage.delivery import Unreachable
from storage.models import AuditEntry, Member, OutboxMessage, OutboxStatus
from tests.conftest import STAFF_CHAT_ID, BotHarness
from tests.harness import Person
from tests.staff_tools_support import member, open_chat, start_bot

CHAT_INTERVAL = 0.05
RATE = 100.0


@pytest.fixture
async def bot(emulator: Emulator, db_url: str, tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = await start_bot(
        emulator, db_url, tmp_path, outbox_chat_interval_seconds=CHAT_INTERVAL, outbox_rate_per_second=RATE
    )
    yield harness
    await harness.runtime.stop()


async def _enqueue(bot: BotHarness, chat_id: int, labels: list[str], **values: object) -> None:
    async with unit_of_work(bot.sessions) as session:
        for label in labels:
            await outbox.enqueue(
                session,
                chat_id=chat_id,
                kind="test",
                key="status.landing",
                language="en",
                values={"url": label, **values},
                now=bot.clock.now(),
            )


async def _rows(bot: BotHarness) -> list[OutboxMessage]:
    async with unit_of_work(bot.sessions) as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def _unsettled(bot: BotHarness) -> int:
    async with unit_of_work(bot.sessions) as session:
        query = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        )
        return int(await session.scalar(query) or 0)


async def _drain(bot: BotHarness, step: timedelta = timedelta(seconds=2), rounds: int = 20) -> None:
    """Ticks, moving the fake clock past every retry_after / backoff, until nothing is pending."""
    for _ in range(rounds):
        await bot.runtime.tick()
        if not await _unsettled(bot):
            return
        bot.clock.advance(step)
    raise AssertionError("the outbox did not drain")


def _texts(emulator: Emulator, chat_id: int) -> list[str]:
    return [m["text"].removeprefix("Landing page: ") for m in emulator.messages(chat_id) if m["from"]["is_bot"]]


def _attempts(emulator: Emulator, chat_id: int) -> int:
    return sum(
        1 for method, params in emulator.calls if method == "sendMessage" and int(params.get("chat_id", 0)) == chat_id
    )


async def test_a_429_storm_delivers_everything_once_in_order_and_paced(bot: BotHarness) -> None:
    emulator = bot.emulator
    chats = [601, 602, 603, 604, 605]
    emulator.fail("sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1, times=7)
    expected: dict[int, list[str]] = {}
    for chat_id in chats:
        open_chat(emulator, chat_id, f"User{chat_id}")
        expected[chat_id] = [f"c{chat_id}-m{i}" for i in range(4)]
        await _enqueue(bot, chat_id, expected[chat_id])

    await bot.runtime.tick()  # each chat's first message meets a 429
    rows = await _rows(bot)
    assert {r.status for r in rows} == {OutboxStatus.PENDING} and not emulator.send_log
    waiting = [r for r in rows if r.attempts == 1]
    assert len(waiting) == 5 and all(r.not_before == bot.clock.now() + timedelta(seconds=1) for r in waiting)
    await bot.runtime.tick()  # retry_after has not passed on the clock: nothing is sent
    assert not emulator.send_log

    await _drain(bot)
    assert {r.status for r in await _rows(bot)} == {OutboxStatus.SENT}
    for chat_id in chats:
        assert _texts(emulator, chat_id) == expected[chat_id]  # each once, in order
        times = [t for t, method, c in emulator.send_log if c == chat_id and method == "sendMessage"]
        assert all(later - earlier >= CHAT_INTERVAL for earlier, later in zip(times, times[1:], strict=False)), times
    times = sorted(t for t, _, _ in emulator.send_log)
    assert all(sum(1 for t in times if start <= t < start + 0.1) <= 0.1 * RATE + 2 for start in times)  # overall rate


async def test_restart_sends_what_was_queued_and_resends_only_what_was_in_flight(bot: BotHarness) -> None:
    emulator = bot.emulator
    for chat_id in (701, 702, 703):
        open_chat(emulator, chat_id, f"User{chat_id}")
    emulator.fail(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        times=1,
        chat_id=702,
    )
    async with unit_of_work(bot.sessions) as session:  # a crash mid-send left this one SENDING
        row = await outbox.enqueue(
            session,
            chat_id=703,
            kind="test",
            key="status.landing",
            language="en",
            values={"url": "in-flight"},
            now=bot.clock.now(),
        )
        row.status = OutboxStatus.SENDING
    await _enqueue(bot, 703, ["after"])
    await _enqueue(bot, 701, ["a0", "a1"])
    await _enqueue(bot, 702, ["b0", "b1", "b2"])
    await bot.runtime.tick()
    assert _texts(emulator, 701) == ["a0", "a1"] and _texts(emulator, 702) == []
    assert _texts(emulator, 703) == ["in-flight", "after"]  # the crashed sender's row is sent again, in order

    await bot.restart()  # 702's messages are still queued
    bot.clock.advance(timedelta(seconds=2))
    await _drain(bot)
    assert _texts(emulator, 701) == ["a0", "a1"]  # not again
    assert _texts(emulator, 702) == ["b0", "b1", "b2"]
    assert _texts(emulator, 703) == ["in-flight", "after"]  # not again
    assert {r.status for r in await _rows(bot)} == {OutboxStatus.SENT}


async def test_a_blocked_customer_fails_for_good_and_staff_are_told_once(bot: BotHarness) -> None:
    emulator = bot.emulator
    open_chat(emulator, 801, "Blocky")
    async with unit_of_work(bot.sessions) as session:
        await member(session, 801)
    emulator.block_bot(801)
    await _enqueue(bot, 801, ["decision", "reminder"], order_id="z000000001")
    await _enqueue(bot, 424242, ["nobody"])  # a chat Telegram does not know
    group = Person(emulator, 9000, "Ada", chat_id=STAFF_CHAT_ID)
    failed_at = bot.clock.now()

    await _drain(bot)
    rows = await _rows(bot)
    to_customer = [r for r in rows if r.chat_id in (801, 424242)]
    assert [r.status for r in to_customer] == [OutboxStatus.FAILED] * 3
    assert (
        "blocked by the user" in (to_customer[0].last_error or "")
        and "not found" in (to_customer[2].last_error or "").lower()
    )
    async with unit_of_work(bot.sessions) as session:
        blocked = await session.scalar(select(Member).where(Member.telegram_user_id == 801))
        assert blocked is not None and blocked.bot_blocked_at == failed_at
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.undeliverable"))).all()
        assert sorted(a.subject or "" for a in audit) == ["424242", "801", "801"]
    notices = [await group.next_reply(), await group.next_reply()]
    texts = sorted(n.text for n in notices)
    assert "A customer cannot be reached" in texts[0] and "z000000001" in "".join(texts) and "User801" in "".join(texts)
    assert any("424242" in t for t in texts)
    assert any("they blocked the bot" in t for t in texts) and any(
        "Telegram does not know this chat" in t for t in texts
    )
    assert sorted(a.details["reason"] for a in audit) == ["blocked", "blocked", "chat_not_found"]  # the domain fact

    for _ in range(3):  # never retried
        bot.clock.advance(timedelta(minutes=10))
        await bot.runtime.tick()
    assert _attempts(emulator, 801) == 2 and _attempts(emulator, 424242) == 1
    assert len([m for m in emulator.messages(STAFF_CHAT_ID) if m["from"]["is_bot"]]) == 2  # told once per customer


async def test_a_network_error_is_retried_with_growing_backoff(bot: BotHarness) -> None:
    emulator = bot.emulator
    open_chat(emulator, 901, "Netty")
    emulator.fail("sendMessage", error_code=502, description="Bad Gateway", times=2, chat_id=901)
    start = bot.clock.now()
    await _enqueue(bot, 901, ["first", "second"])

    await bot.runtime.tick()
    [first, second] = await _rows(bot)
    assert (first.status, first.attempts, first.not_before) == (OutboxStatus.PENDING, 1, start + timedelta(seconds=2))
    assert second.status == OutboxStatus.PENDING and second.attempts == 0  # waits behind the first
    bot.clock.advance(timedelta(seconds=1))
    await bot.runtime.tick()
    assert _attempts(emulator, 901) == 1  # backoff not over
    bot.clock.advance(timedelta(seconds=1))
    await bot.runtime.tick()  # second failure: the wait doubles
    [first, _] = await _rows(bot)
    assert (first.attempts, first.not_before) == (2, bot.clock.now() + timedelta(seconds=4))
    bot.clock.advance(timedelta(seconds=3))
    await bot.runtime.tick()
    assert _attempts(emulator, 901) == 2
    bot.clock.advance(timedelta(seconds=1))
    await bot.runtime.tick()
    assert _texts(emulator, 901) == ["first", "second"]
    assert [r.status for r in await _rows(bot)] == [OutboxStatus.SENT, OutboxStatus.SENT]


async def test_only_the_lease_holder_sends_and_a_silent_one_is_taken_over(session) -> None:  # type: ignore[no-untyped-def]
    """Several processes: one sends; another takes over once the sender's heartbeat is too old,
    and only then are the rows it left in flight sent again."""
    from datetime import UTC, datetime

    from storage import leases

    now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    ttl = timedelta(seconds=10)
    row = await outbox.enqueue(
        session, chat_id=1, kind="test", key="status.landing", language="en", values={"url": "x"}, now=now
    )
    assert await leases.hold(session, "outbox", "a", now, ttl)
    assert await outbox.start_sending(session, row.id, "a", now)
    assert not await outbox.start_sending(session, row.id, "b", now)  # compare-and-set
    assert await outbox.due_heads(session, now) == []  # in flight: its chat waits
    assert not await leases.hold(session, "outbox", "b", now + timedelta(seconds=9), ttl)
    assert await leases.hold(session, "outbox", "a", now + timedelta(seconds=9), ttl)  # heartbeat
    assert not await leases.hold(session, "outbox", "b", now + timedelta(seconds=18), ttl)
    assert await leases.hold(session, "outbox", "b", now + timedelta(seconds=20), ttl)
    assert await outbox.requeue_in_flight(session) == 1
    await session.refresh(row)
    assert [m.id for m in await outbox.due_heads(session, now)] == [row.id] and row.status == OutboxStatus.PENDING
    await leases.give_up(session, "outbox", "b")
    assert await leases.hold(
        session, "outbox", "c", now + timedelta(seconds=21), ttl
    )  # free at once after a clean stop


def test_telegram_refusals_are_read_here_and_handed_on_as_a_reason() -> None:
    """Only the dispatcher reads Telegram's texts; storage hears `Unreachable` or nothing."""
    cases = {
        Forbidden("Forbidden: bot was blocked by the user"): Unreachable.BLOCKED,
        Forbidden("Forbidden: user is deactivated"): Unreachable.DEACTIVATED,
        Forbidden("Forbidden: bot can't initiate conversation with a user"): Unreachable.NOT_STARTED,
        BadRequest("Chat not found"): Unreachable.CHAT_NOT_FOUND,
        BadRequest("Can't parse entities: unsupported start tag"): None,  # our message, not their chat
        Forbidden("Forbidden: bot was kicked from the group chat"): None,
        NetworkError("Bad Gateway"): None,
    }
    assert {str(exc): unreachable(exc) for exc in cases} == {str(exc): reason for exc, reason in cases.items()}


async def test_buttons_are_actions_and_rows_queued_before_still_send(bot: BotHarness) -> None:
    """A button is queued as (label key, action, argument) and sent as the router's `g:` data; a
    row queued by the previous release, (label key, callback data), goes out unchanged."""
    emulator = bot.emulator
    open_chat(emulator, 1101, "Olga")
    async with unit_of_work(bot.sessions) as session:
        new = [[("status.redeem_again", "again", "abc123")]]
        await outbox.enqueue(
            session,
            chat_id=1101,
            kind="decision",
            key="status.landing",
            language="en",
            values={"url": "x"},
            buttons=new,
            now=bot.clock.now(),
        )
        old = {
            "key": "status.landing",
            "language": "en",
            "values": {"url": "x"},
            "buttons": [[["status.redeem_again", "g:again:abc123"]]],
        }
        await outbox.enqueue_kind(
            session, chat_id=1101, kind="decision", payload=old, now=bot.clock.now()
        )  # as the last release stored it
        await outbox.enqueue(
            session,
            chat_id=1101,
            kind="reminder",
            key="status.landing",
            language="en",
            values={"url": "y"},
            buttons=[[("reminders.continue", "resume", None)]],
            now=bot.clock.now(),
        )
    await _drain(bot)
    sent = [m["reply_markup"]["inline_keyboard"][0][0] for m in emulator.messages(1101) if m["from"]["is_bot"]]
    assert [b["callback_data"] for b in sent] == ["g:again:abc123", "g:again:abc123", "g:resume"]
    assert sent[0]["text"] == sent[1]["text"] == Translator().t("en", "status.redeem_again")
    assert GLOBAL == CUSTOMER_GLOBAL  # the prefix the customer router parses


def test_typed_values_are_rendered_in_the_readers_language() -> None:
    translator = Translator()
    lines = {
        "$lines": {"key": "followups.digest_line", "items": [{"order_id": "a1", "promised": {"$date": "2027-01-29"}}]}
    }
    assert render_value(translator, "en", lines) == "• a1 — Jan 29, 2027"
    assert render_value(translator, "zh-Hant", lines) == "• a1 — 2027年1月29日"
    assert (
        render_value(
            translator,
            "en",
            {"$lines": {"key": "followups.digest_line", "items": [], "empty": "followups.digest_none"}},
        )
        == "—"
    )
    assert (
        render_value(translator, "en", {"$list": ["a1", "b2"]}) == "a1, b2"
        and render_value(translator, "en", {"$list": []}) == "—"
    )
    who = {"$key": "prize.staff.member_username", "values": {"name": "Ann & Bo", "username": "ann"}}
    assert (
        render_text(
            translator,
            "en",
            "prize.staff.claimed",
            {"promotion": "P", "slug": "p", "draw_id": 1, "order_ids": {"$list": ["a1"]}, "member": who},
        ).count("Ann &amp; Bo (@ann)")
        == 1
    )  # escaped once


async def test_a_chat_inside_its_interval_holds_nobody_up(emulator: Emulator, db_url: str, tmp_path: Path) -> None:
    """The heads of other chats are fetched ahead and sent while one chat waits out its interval:
    every other chat's message arrives before that chat's second one."""
    bot = await start_bot(emulator, db_url, tmp_path, outbox_chat_interval_seconds=2.0, outbox_rate_per_second=1000.0)
    try:
        others = list(range(1201, 1221))
        for chat_id in [1200, *others]:
            open_chat(emulator, chat_id, f"User{chat_id}")
        await _enqueue(bot, 1200, ["first", "second"])
        for chat_id in others:
            await _enqueue(bot, chat_id, [f"to-{chat_id}"])
        await bot.runtime.tick()
        order = [c for _, method, c in emulator.send_log if method == "sendMessage"]
        assert order.index(1200) == 0 and order.count(1200) == 2
        assert order[-1] == 1200 and set(order[1:-1]) == set(others)  # all of them went during its wait
        assert _texts(emulator, 1200) == ["first", "second"]
    finally:
        await bot.runtime.stop()
