"""Reference bots for the load benchmark (see bench/load.py); they know nothing of our bot.

* ``build_echo_app``: the textbook python-telegram-bot echo bot. By default it is PTB as it
  comes (``HTTPXRequest``, updates processed one at a time); the switches swap in our
  ``bot.transport.AiohttpRequest`` and/or ``concurrent_updates(True)``.
* ``raw_echo``: no PTB at all, just a getUpdates loop on one aiohttp session that fires one
  sendMessage per update. It is the cheapest possible client, so its rate is roughly the
  ceiling that the emulator plus the simulated users allow in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.transport import AiohttpRequest

EchoApp = Application[Any, Any, Any, Any, Any, Any]


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the very text the user sent."""
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


def build_echo_app(token: str, base_url: str, *, aiohttp_transport: bool = False, concurrent: bool = False) -> EchoApp:
    """A minimal Application; with no switches it is PTB's defaults throughout."""
    builder = ApplicationBuilder().token(token).base_url(base_url)
    if aiohttp_transport:
        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(connection_pool_size=2))
    if concurrent:
        builder = builder.concurrent_updates(True)
    app: EchoApp = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


@contextlib.asynccontextmanager
async def running(app: EchoApp, poll_timeout: int = 10) -> AsyncIterator[EchoApp]:
    """Polls while inside the block; stopping undoes start in reverse, as ``BotRuntime`` does."""
    await app.initialize()
    try:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=poll_timeout)
        yield app
    finally:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()


async def _raw_send(session: aiohttp.ClientSession, url: str, chat_id: int, text: str) -> None:
    async with session.post(f"{url}/sendMessage", json={"chat_id": chat_id, "text": text}) as resp:
        await resp.read()


async def _raw_loop(session: aiohttp.ClientSession, url: str, poll_timeout: int, offset: list[int]) -> None:
    """``offset[0]`` is the next update id to ask for (shared so that stopping can confirm it)."""
    sends: set[asyncio.Task[None]] = set()
    while True:
        params = {"offset": offset[0], "timeout": poll_timeout}
        async with session.post(f"{url}/getUpdates", json=params) as resp:
            updates = (await resp.json())["result"]
        for update in updates:
            offset[0] = update["update_id"] + 1
            message = update.get("message") or {}
            if "text" in message:
                task = asyncio.create_task(_raw_send(session, url, message["chat"]["id"], message["text"]))
                sends.add(task)
                task.add_done_callback(sends.discard)


@contextlib.asynccontextmanager
async def raw_echo(token: str, base_url: str, poll_timeout: int = 10) -> AsyncIterator[None]:
    """An echo "bot" with no framework: long poll, then one concurrent sendMessage per update."""
    url = f"{base_url}{token}"
    offset = [0]
    async with aiohttp.ClientSession() as session:
        task = asyncio.create_task(_raw_loop(session, url, poll_timeout, offset))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # confirm what was consumed, so the next bot does not see it again
            async with session.post(f"{url}/getUpdates", json={"offset": offset[0], "timeout": 0}) as resp:
                await resp.read()
