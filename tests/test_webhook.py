"""Webhook mode: the secret header is required; /healthz answers."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp

from bot.emulator import Emulator
from bot.runtime import BotRuntime
from storage.clock import FakeClock
from tests.conftest import make_settings
from tests.harness import Person

SECRET = "s3cret_value-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_end_to_end(emulator: Emulator, db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    settings = make_settings(emulator, db_url, tmp_path, webhook_listen=f"127.0.0.1:{port}", webhook_public_url=f"http://127.0.0.1:{port}/tg-hook", webhook_secret=SECRET)
    runtime = BotRuntime(settings, clock=FakeClock())
    await runtime.start("webhook")
    try:
        update = {"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": {"id": 4242, "type": "private"}, "from": {"id": 4242, "is_bot": False, "first_name": "Mallory"}, "text": "/help"}}
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(f"http://127.0.0.1:{port}/tg-hook", json=update, headers=headers) as response:
                    assert response.status == 401
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
                assert (await response.json())["database"] == "ok"

        # The emulator delivers a real user's message through the webhook, with the secret.
        alice = Person(emulator, 1001, "Alice")
        await alice.send("/help")
        reply = await alice.next_reply()
        assert "/register" in reply.text
        assert not [c for c in emulator.calls if str(c[1].get("chat_id")) == "4242"], "a refused update was processed"
    finally:
        await runtime.stop()
