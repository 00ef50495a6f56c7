"""Direct replies respect Telegram's limits (bot/replies.py): a 429 is retried after its
retry_after, a network error after a short backoff, and a burst of replies to many people stays
within REPLY_RATE_PER_SECOND. Times are the emulator's arrival times."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.runtime import BotRuntime
from emulator import Emulator
from storage.clock import FakeClock
from tests.conftest import BotHarness, make_settings
from tests.harness import Person

HELP = "What I can do"


def arrivals(emulator: Emulator, chat_id: int, method: str = "sendMessage") -> list[float]:
    """When the emulator took each `method` to the chat (refused calls are not in the log)."""
    return [at for at, name, chat in emulator.send_log if name == method and chat == chat_id]


def attempts(emulator: Emulator, chat_id: int, method: str = "sendMessage") -> int:
    return sum(1 for name, params in emulator.calls if name == method and str(params.get("chat_id")) == str(chat_id))


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_reply_that_gets_429_is_sent_after_retry_after(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    alice = bot.person(1001, "Alice")
    await alice.send("/help")
    await alice.expect(HELP)
    bot.emulator.fail(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        times=1,
        chat_id=1001,
    )

    asked = time.monotonic()
    await alice.send("/help")
    await alice.expect(HELP)
    assert attempts(bot.emulator, 1001) == 3  # the first /help, the refused one, the retry
    delivered = arrivals(bot.emulator, 1001)[-1]
    assert 1.0 <= delivered - asked < 3.0  # not before Telegram allowed it, and not dropped
    assert errors(caplog) == []


async def test_a_reply_that_hits_a_network_error_is_sent_again(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    alice = bot.person(1001, "Alice")
    bot.emulator.fail("sendMessage", error_code=502, description="Bad Gateway", times=2, chat_id=1001)
    asked = time.monotonic()
    await alice.send("/start")
    await alice.expect("Welcome, Alice!")
    await alice.expect("Privacy policy")
    assert attempts(bot.emulator, 1001) == 4  # two refused, then the welcome and the consent question
    assert arrivals(bot.emulator, 1001)[0] - asked >= 0.5 + 1.0  # the backoff, twice
    assert errors(caplog) == []


async def test_a_reply_that_keeps_failing_is_given_up_without_a_traceback(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    alice = bot.person(1001, "Alice")
    bot.emulator.fail("sendMessage", error_code=502, description="Bad Gateway", times=4, chat_id=1001)
    await alice.send("/help")
    await alice.send("/help")  # handled after the first one gave up: its reply arrives
    await alice.expect(HELP)
    assert attempts(bot.emulator, 1001) == 5  # four tries for the first, one for the second
    assert len(arrivals(bot.emulator, 1001)) == 1
    assert errors(caplog) == []
    assert any(
        "given up after 4 network errors" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
    )


@pytest.fixture
async def slow_bot(emulator: Emulator, db_url: str, tmp_path: Path) -> AsyncIterator[BotRuntime]:
    """The bot with replies limited to 10 a second."""
    runtime = BotRuntime(
        make_settings(emulator, db_url, tmp_path, reply_rate_per_second=10),
        clock=FakeClock(),
        poll_timeout=1,
        timed_jobs=False,
        outbox_interval=None,
    )
    await runtime.start()
    yield runtime
    await runtime.stop()


async def test_a_burst_of_replies_to_many_people_stays_within_the_rate(
    emulator: Emulator, slow_bot: BotRuntime
) -> None:
    people = [Person(emulator, 2000 + i, f"User{i}") for i in range(25)]
    await asyncio.gather(*(person.send("/help") for person in people))
    for person in people:
        await person.expect(HELP)
    sent = sorted(at for at, name, chat in emulator.send_log if name == "sendMessage" and chat >= 2000)
    assert len(sent) == 25
    busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    assert busiest <= 10 + 1  # REPLY_RATE_PER_SECOND in any second (the leaky bucket holds one)
    assert sent[-1] - sent[0] >= (25 - 11) / 10  # they were spread out, not just fast


async def test_a_reply_does_not_queue_behind_a_full_outbox(emulator: Emulator, db_url: str, tmp_path: Path) -> None:
    """Replies and announcements have budgets of their own (REPLY_RATE_PER_SECOND and
    OUTBOX_RATE_PER_SECOND): with 40 announcements queued at 2 a second, a customer's /help is
    answered while nearly all of them still wait."""
    from sqlalchemy import func, select

    from storage import outbox
    from storage.db import unit_of_work
    from storage.models import OutboxMessage, OutboxStatus
    from tests.staff_tools_support import open_chat, start_bot

    bot = await start_bot(emulator, db_url, tmp_path, outbox_interval=0.05, outbox_rate_per_second=2.0)
    try:
        chats = list(range(3000, 3040))
        async with unit_of_work(bot.sessions) as session:
            for chat_id in chats:
                open_chat(emulator, chat_id, f"User{chat_id}")
                await outbox.enqueue(
                    session, chat_id=chat_id, kind="test", key="status.landing", language="en",
                    values={"url": "x"}, now=bot.clock.now(),
                )  # fmt: skip
        await emulator.state.event_notifier.wait_for(
            lambda: True if any(c in chats for _, _, c in emulator.send_log) else None, 10
        )  # the outbox is draining
        alice = bot.person(1001, "Alice")
        await alice.send("/help")
        await alice.expect(HELP)
        async with unit_of_work(bot.sessions) as session:
            waiting = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != OutboxStatus.SENT)
            )
        assert int(waiting or 0) >= 30  # the answer overtook the queue
    finally:
        await bot.runtime.stop()
