"""Nothing lost, nothing twice: a redelivered update is recognised, one user's units of work
run one at a time across processes (PostgreSQL), old update ids are forgotten."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bot.inbox import prune_processed_updates
from bot.runtime import BotRuntime
from emulator import Emulator
from storage import conversations, members, updates
from storage.db import SessionFactory, unit_of_work
from storage.models import ProcessedUpdate
from tests.conftest import BotHarness
from tests.factories import confirm_email

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LOCK_SEEN_WITHIN = 5.0


def _is_postgresql(db_url: str) -> bool:
    return db_url.startswith("postgresql")


# ---------------------------------------------------------------- the claim


async def test_an_update_id_is_claimed_once_and_a_rolled_back_claim_never_happened(sessions: SessionFactory) -> None:
    async with unit_of_work(sessions) as s:
        assert await updates.claim_update(s, 7, NOW) is True
        assert await updates.claim_update(s, 7, NOW) is False  # the same transaction sees its own claim
    async with unit_of_work(sessions) as s:
        assert await updates.claim_update(s, 7, NOW) is False
        assert await updates.is_processed(s, 7) and not await updates.is_processed(s, 8)
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as s:
            assert await updates.claim_update(s, 9, NOW) is True
            raise RuntimeError("the update's handler failed")
    async with unit_of_work(sessions) as s:
        assert await updates.claim_update(s, 9, NOW) is True  # rolled back with the failed work
        assert await s.scalar(select(func.count()).select_from(ProcessedUpdate)) == 2


async def test_ids_older_than_two_days_are_pruned(sessions: SessionFactory) -> None:
    ages = {1: timedelta(days=3), 2: timedelta(days=2, seconds=1), 3: timedelta(days=1, hours=23), 4: timedelta(0)}
    async with unit_of_work(sessions) as s:
        for update_id, age in ages.items():
            assert await updates.claim_update(s, update_id, NOW - age)
    async with unit_of_work(sessions) as s:
        assert await updates.prune_updates(s, NOW) == 2
    async with unit_of_work(sessions) as s:
        assert set(await s.scalars(select(ProcessedUpdate.update_id))) == {3, 4}
        assert await updates.prune_updates(s, NOW) == 0


def test_every_telegram_user_id_folds_into_the_second_lock_key() -> None:
    for user_id in (1, 1001, 2**31 - 1, 2**31, 2**32 + 5, 7_123_456_789, 2**52 - 1):
        assert -(2**31) <= updates.user_lock_key(user_id) < 2**31
    assert updates.user_lock_key(1001) != updates.user_lock_key(1002)


# ---------------------------------------------------------------- the per-user lock (PostgreSQL)


async def _wait_until_someone_waits_for(sessions: SessionFactory, user_id: int) -> None:
    """Until PostgreSQL shows a transaction waiting for the user's advisory lock."""
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND classid = CAST(:namespace AS oid) AND objid = CAST(:key AS oid) AND objsubid = 2"
    )
    key = updates.user_lock_key(user_id) & 0xFFFFFFFF  # pg_locks shows the int4 key as an oid
    deadline = time.monotonic() + LOCK_SEEN_WITHIN
    while time.monotonic() < deadline:
        async with sessions() as s:
            if await s.scalar(query, {"namespace": updates.USER_LOCK_NAMESPACE, "key": key}):
                return
        await asyncio.sleep(0.01)  # polling PostgreSQL's own view of the wait
    raise AssertionError(f"nobody waited for the lock of user {user_id}")


async def _step_after_lock(sessions: SessionFactory, user_id: int) -> str | None:
    """A second unit of work for the user: it takes the lock first, then reads the state."""
    async with unit_of_work(sessions) as s:
        await updates.lock_user(s, user_id)
        state = await conversations.load(s, user_id)
        return state.step if state is not None else None


async def test_two_units_of_work_of_one_user_run_one_after_the_other(db_url: str, sessions: SessionFactory) -> None:
    if not _is_postgresql(db_url):
        pytest.skip("SQLite needs no lock: every unit of work starts with BEGIN IMMEDIATE, one writer at a time")
    async with unit_of_work(sessions) as first:
        await updates.lock_user(first, 1001)
        await conversations.save(first, user_id=1001, chat_id=1001, flow="profile", step="email", data={}, now=NOW)

        async with unit_of_work(sessions) as other_user:  # another user is not held up
            await updates.lock_user(other_user, 1002)

        with pytest.raises(DBAPIError, match="lock timeout"):  # the same user is
            async with unit_of_work(sessions) as second:
                await second.execute(text("SET LOCAL lock_timeout = '100ms'"))
                await updates.lock_user(second, 1001)

        waiter = asyncio.create_task(_step_after_lock(sessions, 1001))
        await _wait_until_someone_waits_for(sessions, 1001)
        assert not waiter.done()
    assert await asyncio.wait_for(waiter, 5) == "email"  # it went on after the commit and saw it


async def test_the_claim_for_a_user_locks_and_claims_in_one(db_url: str, sessions: SessionFactory) -> None:
    """storage.updates.claim_for_user: a redelivery is refused as by claim_update, and on PostgreSQL
    a second unit of work of the same user waits for the first's commit, as after lock_user."""
    async with unit_of_work(sessions) as first:
        assert await updates.claim_for_user(first, 1001, 70, NOW) is True
        assert await updates.claim_for_user(first, 1001, 70, NOW) is False
        await conversations.save(first, user_id=1001, chat_id=1001, flow="profile", step="email", data={}, now=NOW)
        if _is_postgresql(db_url):
            with pytest.raises(DBAPIError, match="lock timeout"):
                async with unit_of_work(sessions) as second:
                    await second.execute(text("SET LOCAL lock_timeout = '100ms'"))
                    await updates.claim_for_user(second, 1001, 71, NOW)
    async with unit_of_work(sessions) as s:
        assert await updates.claim_for_user(s, 1001, 70, NOW) is False
        assert await updates.claim_for_user(s, None, 71, NOW) is True
        assert (await conversations.member_and_state(s, 1001))[1] is not None


async def test_the_user_lock_never_collides_with_the_one_number_advisory_locks(
    db_url: str, sessions: SessionFactory
) -> None:
    if not _is_postgresql(db_url):
        pytest.skip("advisory locks are PostgreSQL's")
    same_bits = (updates.USER_LOCK_NAMESPACE << 32) | (updates.user_lock_key(1001) & 0xFFFFFFFF)
    async with unit_of_work(sessions) as holder:
        await holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": same_bits})  # as storage.claims locks
        async with unit_of_work(sessions) as s:
            await s.execute(text("SET LOCAL lock_timeout = '1s'"))
            await updates.lock_user(s, 1001)  # granted at once: another key space


# ---------------------------------------------------------------- redelivered updates, end to end


def _redeliver(emulator: Emulator, raw: dict[str, Any]) -> None:
    """Telegram sends an update again: a bot that restarted before it confirmed the offset
    gets the update once more, with its original update_id."""
    queue = emulator.state.updates
    queue.pending.append(dict(raw))
    queue.notifier.notify()


async def _stop(bot: BotHarness) -> None:
    await bot.runtime.stop()


async def _start(bot: BotHarness) -> None:
    bot.runtime = BotRuntime(bot.settings, clock=bot.clock, poll_timeout=1, timed_jobs=False)
    await bot.runtime.start()


async def _while_stopped(bot: BotHarness, act: Any) -> dict[str, Any]:
    """The person acts while the bot is down; returns the update Telegram holds for the bot."""
    await _stop(bot)
    before = {u["update_id"] for u in bot.emulator.pending_updates}
    await act()
    (raw,) = [u for u in bot.emulator.pending_updates if u["update_id"] not in before]
    await _start(bot)
    return raw


async def _profile(bot: BotHarness, user_id: int) -> tuple[str | None, str | None, str | None]:
    async with unit_of_work(bot.sessions) as s:
        member = await members.by_telegram_id(s, user_id)
        state = await conversations.load(s, user_id)
        assert member is not None
        return member.first_name, member.last_name, state.step if state is not None else None


async def _claimed(bot: BotHarness, *update_ids: int) -> int:
    async with unit_of_work(bot.sessions) as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(ProcessedUpdate).where(ProcessedUpdate.update_id.in_(update_ids))
            )
            or 0
        )


async def test_a_redelivered_answer_and_button_are_not_taken_twice_and_the_question_is_asked_again(
    bot: BotHarness,
) -> None:
    alice = bot.person(1001, "Alice")
    await alice.send("/start")
    await alice.expect("Welcome, ")
    await alice.expect("Privacy policy")
    press = await _while_stopped(bot, lambda: alice.press("✅ I agree"))
    await alice.expect("Your e-mail address")
    await confirm_email(alice, "alice@example.com")
    answer = await _while_stopped(bot, lambda: alice.send("Alice"))
    asked = await alice.expect("last name")
    assert await _profile(bot, 1001) == ("Alice", None, "last_name")

    await _stop(bot)  # restarted again before the offset was confirmed: both come once more
    _redeliver(bot.emulator, press)
    _redeliver(bot.emulator, answer)
    await _start(bot)
    for _ in (press, answer):  # neither is taken again ("Alice" is not the last name now)
        again = await alice.next_reply()
        assert again.text == asked.text
    assert await _profile(bot, 1001) == ("Alice", None, "last_name")
    assert await _claimed(bot, press["update_id"], answer["update_id"]) == 2

    await alice.send("Tan")  # and the journey goes on from the question asked
    await alice.expect("Where do you live?")
    assert await _profile(bot, 1001) == ("Alice", "Tan", "country")


async def test_a_redelivery_after_the_journey_ended_is_not_run_again_and_says_so(bot: BotHarness) -> None:
    bao = bot.person(1002, "Bao")
    await bao.send("/start")
    await bao.expect("Welcome, ")
    await bao.expect("Privacy policy")
    await bao.send("/cancel")
    await bao.expect("Stopped.")
    raw = await _while_stopped(bot, lambda: bao.send("/cancel"))
    await bao.expect("There is nothing to stop")
    await _stop(bot)
    _redeliver(bot.emulator, raw)
    await _start(bot)
    reply = await bao.expect("already taken care of")
    assert "nothing to stop" not in reply.text  # /cancel did not run a second time


async def test_processed_ids_are_forgotten_by_the_runtime_job_after_two_days(bot: BotHarness) -> None:
    alice = bot.person(1001, "Alice")
    await alice.send("/start")
    await alice.expect("Welcome, ")
    assert bot.runtime.services is not None
    assert await prune_processed_updates(bot.runtime.services) == 0
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1
    bot.clock.advance(timedelta(days=2, seconds=1))
    assert await prune_processed_updates(bot.runtime.services) == 1
