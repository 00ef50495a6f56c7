"""Webhook delivery: POST pending updates to the bot, one at a time and in order.

A non-2xx answer or a connection error keeps the update at the head of the queue and retries it
after a short backoff (0.05 s doubling to 1 s), so order is never broken, as on Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp

from .notify import Closed
from .updates import UpdateQueue, WebhookConfig

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MIN_BACKOFF = 0.05
MAX_BACKOFF = 1.0
REQUEST_TIMEOUT = 10.0


class WebhookDeliverer:
    """Background task that empties the update queue into the webhook URL."""

    def __init__(self, updates: UpdateQueue) -> None:
        self.updates = updates
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))
        self._task = asyncio.create_task(self._run(), name="emulator-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _next(self) -> tuple[dict[str, Any], WebhookConfig] | None:
        config = self.updates.webhook
        if config is None or not self.updates.pending:
            return None
        return self.updates.pending[0], config

    async def _post(self, update: dict[str, Any], config: WebhookConfig) -> str | None:
        """Deliver one update; None on success, else the error getWebhookInfo reports."""
        assert self._session is not None
        headers = {SECRET_HEADER: config.secret_token} if config.secret_token else {}
        try:
            async with self._session.post(config.url, json=update, headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            return "Timeout expired"
        except aiohttp.ClientError as exc:
            return f"Connection failed: {exc}"

    async def _run(self) -> None:
        backoff = MIN_BACKOFF
        while True:
            try:
                update, config = await self.updates.notifier.wait_for(self._next, None)
            except Closed:
                return
            error = await self._post(update, config)
            if error is None:
                self.updates.drop(update["update_id"])
                backoff = MIN_BACKOFF
                continue
            self.updates.record_webhook_error(error)
            await asyncio.sleep(backoff)  # retry delay, not a poll: the update is still first
            backoff = min(backoff * 2, MAX_BACKOFF)
