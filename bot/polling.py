"""Long polling that never makes one customer wait behind another's update, and loses none.

Telegram forgets an update once a later getUpdates asks for an offset above it, and it forgets
everything below that offset at once. PTB's Updater confirms a batch as soon as it has fetched
it, so a process killed mid-batch loses it; handling the batch to its end before the next fetch
keeps it, but then every customer waits behind the slowest update in hand (a 12-MP photo held
everyone's /help for a second), and updates that arrive meanwhile are not even fetched.

So each batch is first written down (storage.updates.record_received, one transaction: the
durable receipt), then the next getUpdates confirms it at once while its updates run side by
side (each user's in order, through the application's update processor; at most
max_concurrent_updates in hand, the poll waits for a free slot beyond that). When an update's
processing ended, replies sent, its row is deleted; a small reaper task deletes what finished
in one statement whenever it wakes. A process killed in between leaves rows behind, and the
next start hands them over before it polls. Some of them may have been applied already: the
unit of work claims each update_id (storage/updates.py), so those are recognised, not applied
twice. (Polling from the oldest unfinished id instead would make getUpdates answer at once,
over and over, while a long update runs.)

`stop()` (SIGTERM) stops fetching, lets every update in hand finish, deletes their rows and
confirms the last batch, so a clean restart sees nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.outbox import retry_delay
from storage import updates
from storage.clock import Clock
from storage.db import SessionFactory, unit_of_work

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0


class Poller:
    """`start()` runs the loop in a task; `stop()` finishes the updates in hand, then returns."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        sessions: SessionFactory,
        clock: Clock,
        timeout: int,
    ) -> None:
        self.application = application
        self.sessions = sessions
        self.clock = clock
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # One slot per update in hand: never more tasks than the update processor runs at once.
        self._slots = asyncio.Semaphore(application.update_processor.max_concurrent_updates)
        self._running: set[asyncio.Task[None]] = set()
        self._handed = 0  # the highest update_id this process handed over: a re-fetch of one is skipped
        self._finished: set[int] = set()  # processed, its row not deleted yet
        self._wake_reaper = asyncio.Event()
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="polling")

    async def stop(self) -> None:
        """No new fetch (a long poll is cut); the updates in hand run to their end."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        reaper = asyncio.create_task(self._reap(), name="polling-receipts")
        offset: int | None = None
        try:
            if await self._resume():
                offset = await self._poll()
        finally:
            while self._running:  # what is in hand is finished, as a clean stop should
                await asyncio.gather(*self._running, return_exceptions=True)
            self._closing = True
            self._wake_reaper.set()
            await reaper
        if offset is not None:  # confirm the last batch before leaving: its rows are gone already
            try:
                await self.application.bot.get_updates(offset=offset, timeout=0, allowed_updates=Update.ALL_TYPES)
            except Exception as exc:  # noqa: BLE001 - the next start simply sees them again, deduplicated
                log.info("could not confirm the last batch on stop: %s", exc)

    async def _resume(self) -> bool:
        """Hands over the updates a killed process received but did not finish; False if
        stopped before the database answered."""
        backoff = 1.0
        while True:
            try:
                async with unit_of_work(self.sessions) as session:
                    left = await updates.pending(session)
                break
            except Exception:
                log.exception("could not read the received updates; trying again in %.0f s", backoff)
                if await self._pause(backoff):
                    return False
                backoff = min(backoff * 2, MAX_BACKOFF)
        if left:
            log.info("processing %d update(s) received before the last stop", len(left))
        for update_id, payload in left:
            try:
                update = Update.de_json(payload, self.application.bot)
            except Exception:  # a row no Update can be read from would stay forever
                log.exception("received update %d cannot be read; dropped", update_id)
                self._done(update_id)
                continue
            await self._hand_over(update)
        return True

    async def _poll(self) -> int | None:
        """Fetches, records, hands over, until stopped; returns the offset that confirms all
        that was recorded (None: nothing was fetched)."""
        bot = self.application.bot
        offset: int | None = None
        backoff = 1.0
        while not self._stopping.is_set():
            timeouts = {"timeout": self.timeout, "read_timeout": self.timeout + 10}
            poll = bot.get_updates(offset=offset, allowed_updates=Update.ALL_TYPES, **timeouts)
            fetch = asyncio.ensure_future(poll)
            stop = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not fetch.done():
                fetch.cancel()  # stopping: nothing of an unanswered poll was handed to us
                break
            try:
                batch = fetch.result()
            except (InvalidToken, Conflict):
                log.exception("polling stopped: Telegram refused getUpdates")
                break
            except RetryAfter as exc:
                if await self._pause(retry_delay(exc).total_seconds()):
                    break
                continue
            except (TimedOut, NetworkError) as exc:
                log.info("getUpdates failed (%s); trying again in %.0f s", exc, backoff)
                if await self._pause(backoff):
                    break
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            fresh = [update for update in batch if update.update_id > self._handed]
            try:
                new = await self._record(fresh)
            except Exception:
                log.exception("could not record %d received update(s); fetching them again", len(fresh))
                if await self._pause(backoff):
                    break
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue  # the offset stays: Telegram sends them again
            backoff = 1.0
            if batch:
                offset = batch[-1].update_id + 1  # recorded: the next getUpdates may confirm them
            for update in fresh:
                if update.update_id in new:  # else it is in hand since this process started
                    await self._hand_over(update)
        return offset

    async def _record(self, batch: list[Update]) -> set[int]:
        """The durable receipt: the raw updates, in one transaction, before Telegram forgets them."""
        if not batch:
            return set()
        async with unit_of_work(self.sessions) as session:
            received = [(update.update_id, update.to_dict()) for update in batch]
            return await updates.record_received(session, received, self.clock.now())

    async def _hand_over(self, update: Update) -> None:
        """Starts the update's processing once a slot is free (the poll waits meanwhile)."""
        await self._slots.acquire()
        self._handed = max(self._handed, update.update_id)
        task = asyncio.create_task(self._process(update), name=f"update-{update.update_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _process(self, update: Update) -> None:
        try:
            processor = self.application.update_processor
            try:
                await processor.process_update(update, self.application.process_update(update))
            except Exception:  # PTB hands handler errors to the error handlers; this is a bug of ours
                log.exception("processing update %d failed", update.update_id)
            self._done(update.update_id)
        finally:
            self._slots.release()

    def _done(self, update_id: int) -> None:
        self._finished.add(update_id)
        self._wake_reaper.set()

    async def _reap(self) -> None:
        """Deletes the rows of finished updates, all that finished since the last look at once;
        returns when closing and nothing is left (or the database refuses while closing: the
        next start then processes those again, recognised as applied)."""
        backoff = 1.0
        while True:
            await self._wake_reaper.wait()
            self._wake_reaper.clear()
            if self._finished:
                done, self._finished = self._finished, set()
                try:
                    async with unit_of_work(self.sessions) as session:
                        await updates.finished(session, done)
                    backoff = 1.0
                except Exception:
                    log.exception("could not delete %d finished update(s)", len(done))
                    self._finished |= done
                    if self._closing:
                        return
                    await self._pause(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    self._wake_reaper.set()
                    continue
            if self._closing and not self._finished:
                return

    async def _pause(self, seconds: float) -> bool:
        """Waits `seconds` unless stopped first; True when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()
