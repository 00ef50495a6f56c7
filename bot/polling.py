"""Long polling that confirms an update to Telegram only after it was processed.

PTB's Updater confirms a batch (the next getUpdates' offset) as soon as it has fetched it, so a
process killed while handling the batch loses those updates: Telegram never sends them again.
Here a batch is handled first (side by side, each user's updates in order, through the
application's update processor), and only then does the next getUpdates confirm it. A crash
mid-batch means Telegram delivers the batch again after the restart; the updates already applied
are recognised by their update_id (storage/updates.py) and not applied twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.outbox import retry_delay

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0


class Poller:
    """`start()` runs the loop in a task; `stop()` finishes the batch in hand, then returns."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], timeout: int) -> None:
        self.application = application
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="polling")

    async def stop(self) -> None:
        """No new fetch; the batch being handled runs to its end (a long poll is cut)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        bot = self.application.bot
        offset: int | None = None
        backoff = 1.0
        while not self._stopping.is_set():
            fetch = asyncio.ensure_future(bot.get_updates(offset=offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES, read_timeout=self.timeout + 10))
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
                return
            except RetryAfter as exc:
                await asyncio.sleep(retry_delay(exc).total_seconds())
                continue
            except (TimedOut, NetworkError) as exc:
                log.info("getUpdates failed (%s); trying again in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            if batch:
                await self._handle(batch)
                offset = batch[-1].update_id + 1  # confirmed by the next getUpdates
        if offset is not None:  # confirm the last batch before leaving, as a clean stop should
            try:
                await bot.get_updates(offset=offset, timeout=0, allowed_updates=Update.ALL_TYPES)
            except Exception as exc:  # noqa: BLE001 - the next start simply sees them again, deduplicated
                log.info("could not confirm the last batch on stop: %s", exc)

    async def _handle(self, batch: tuple[Update, ...]) -> None:
        processor = self.application.update_processor
        await asyncio.gather(*(processor.process_update(update, self.application.process_update(update)) for update in batch))
