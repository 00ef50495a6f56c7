"""Pipelined polling: one customer's slow update holds nobody else up, and a kill after Telegram
forgot a batch loses none of it (the durable receipt in received_updates, bot/polling.py).

A's update is made slow deterministically: the emulator's getFile is held until the test lets it
go, so A's photo is in hand (its download not even started) for as long as the test says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.runtime import BotRuntime
from emulator import Emulator, api
from storage import updates
from storage.db import SessionFactory, create_engine, make_session_factory, unit_of_work
from storage.models import ProcessedUpdate, ReceivedUpdate
from tests import crash_run
from tests.conftest import BotHarness
from tests.factories import customer, invoice_jpeg
from tests.harness import Person
from tests.test_register import _to_invoice

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOLD_AT_MOST = 30.0  # a held getFile gives up after this: a broken poller fails the test, not hangs it


def hold_get_file(monkeypatch: pytest.MonkeyPatch, before: Callable[[], Awaitable[None]]) -> None:
    """Every getFile first awaits `before()` (the emulator's method table is patched)."""
    name, get_file = api.BY_LOWER["getfile"]

    async def held(state: Any, params: Any) -> Any:
        await before()
        return await get_file(state, params)

    monkeypatch.setitem(api.BY_LOWER, "getfile", (name, held))


async def received_rows(sessions: SessionFactory) -> set[int]:
    async with unit_of_work(sessions) as s:
        return set(await s.scalars(select(ReceivedUpdate.update_id)))


# ---------------------------------------------------------------- the receipt itself


async def test_received_updates_are_kept_once_in_order_until_finished(sessions: SessionFactory) -> None:
    async with unit_of_work(sessions) as s:
        assert await updates.record_received(s, [(12, {"update_id": 12}), (11, {"update_id": 11})], NOW) == {11, 12}
    async with unit_of_work(sessions) as s:  # sent again before it was confirmed: already in hand
        assert await updates.record_received(s, [(12, {"update_id": 12, "x": 1}), (13, {"update_id": 13})], NOW) == {13}
        assert await updates.record_received(s, [], NOW) == set()
    async with unit_of_work(sessions) as s:
        assert await updates.pending(s) == [(11, {"update_id": 11}), (12, {"update_id": 12}), (13, {"update_id": 13})]
        assert await updates.finished(s, {11, 13, 99}) == 2
        assert await updates.finished(s, []) == 0
    async with unit_of_work(sessions) as s:
        assert await updates.pending(s) == [(12, {"update_id": 12})]


# ---------------------------------------------------------------- no head-of-line blocking


async def test_another_customer_is_answered_while_a_photo_is_in_hand(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_invoice(alice)
    bao = bot.person(1002, "Bao")
    downloading, release = asyncio.Event(), asyncio.Event()

    async def until_released() -> None:
        downloading.set()
        await asyncio.wait_for(release.wait(), HOLD_AT_MOST)

    hold_get_file(monkeypatch, until_released)
    await alice.send_photo(invoice_jpeg())
    await asyncio.wait_for(downloading.wait(), 10)  # A's update is being processed, and stays so
    await bao.send("/help")
    await bao.expect("What I can do")  # fetched and answered while A's photo is still held
    assert not release.is_set()
    release.set()
    await alice.expect("invoice number")  # and A's photo goes on once its download may

    await bot.runtime.stop()  # a clean stop: nothing is left received but unfinished
    assert await received_rows(bot.sessions) == set()
    bot.runtime = BotRuntime(bot.settings, clock=bot.clock, poll_timeout=1, timed_jobs=False)
    await bot.runtime.start()  # for the fixture to stop


# ---------------------------------------------------------------- a kill after the confirmation


async def test_updates_confirmed_but_not_processed_when_the_process_dies_are_processed_after_the_restart(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot (`python -m bot run`) fetches A's S/N photo, records it, and its next getUpdates
    confirms it while the photo's getFile is held: then it is SIGKILLed. Telegram no longer has
    the update; the restarted bot processes it from its row, once."""
    ((user_id, serial),) = await crash_run.seed(db_url, tmp_path / "media", 1)
    emulator = Emulator(token=crash_run.TOKEN, port=0)
    await emulator.start()
    process = crash_run.BotProcess(crash_run.bot_env(emulator, db_url, tmp_path / "media"), tmp_path / "bot.log")
    killer = crash_run.Killer(emulator, process, [])  # no triggers: only its start and ready()
    engine = create_engine(db_url)
    sessions = make_session_factory(engine)
    photo_update = 0  # the S/N photo's update_id, once sent
    confirmed, held, killed = asyncio.Event(), asyncio.Event(), asyncio.Event()

    def kill_when_both() -> None:
        if confirmed.is_set() and held.is_set() and not killed.is_set():
            process.kill()
            killed.set()

    def see_confirmation(method: str, params: dict[str, Any], delivered: bool) -> bool:
        if photo_update and method == "getUpdates" and not delivered and int(params.get("offset") or 0) > photo_update:
            confirmed.set()  # the call goes on and makes Telegram forget the photo
            kill_when_both()
        return False

    async def hold_first_download() -> None:
        if killed.is_set():
            return  # the restarted process downloads freely
        held.set()
        kill_when_both()
        await asyncio.wait_for(killed.wait(), HOLD_AT_MOST)

    emulator.on_call(see_confirmation)
    hold_get_file(monkeypatch, hold_first_download)
    try:
        process.start()
        await killer.ready()
        alice = Person(emulator, user_id, "Alice")
        await alice.send("/redeem")
        await alice.expect("Tick the products")
        await crash_run._tick_product(alice)()
        assert any(label.startswith("✅ ") for label in (await alice.next_reply()).buttons)
        await alice.press("➡️ Next")
        await alice.expect("on the product itself")
        photo_update = emulator.state.updates.next_update_id
        await alice.send_photo(invoice_jpeg(text=f"S/N {serial}"))
        await asyncio.wait_for(killed.wait(), 30)
        await process.wait()

        assert photo_update not in {u["update_id"] for u in emulator.pending_updates}  # Telegram forgot it
        assert photo_update in await received_rows(sessions)  # the bot did not
        async with unit_of_work(sessions) as s:
            assert await s.get(ProcessedUpdate, photo_update) is None  # and had not applied it

        await killer.start_again()
        await alice.expect("lucky draw")  # the photo was taken after the restart
        await alice.press("Yes")
        while "Please check your redemption" not in (await alice.next_reply()).text:
            pass  # the photos of the summary come first
        said = [str(m.get("text")) for m in emulator.messages(alice.chat_id) if m["from"]["is_bot"]]
        assert sum("lucky draw" in text for text in said) == 1  # processed once
        async with unit_of_work(sessions) as s:
            assert await s.get(ProcessedUpdate, photo_update) is not None

        assert await process.terminate() == 0  # a clean stop: every received update finished
        async with unit_of_work(sessions) as s:
            assert await s.scalar(select(func.count()).select_from(ReceivedUpdate)) == 0
    finally:
        if process.proc is not None and process.proc.poll() is None:
            process.kill()
            await process.wait()
        await emulator.stop()
        await engine.dispose()
