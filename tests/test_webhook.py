"""Webhook mode: the secret header is required; /healthz answers; the 200 comes only once the
update was applied and answered; a retry changes nothing; a body that is not an update is a 400."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.runtime import BotRuntime
from emulator import Emulator
from storage import conversations, members
from storage.clock import FakeClock
from storage.db import unit_of_work
from storage.models import CannedReason, ProcessedUpdate
from tests.conftest import STAFF_CHAT_ID, STAFF_ID, make_settings
from tests.factories import free_port, to_first_name
from tests.harness import Person

SECRET = "s3cret_value-1"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
FIRST_DIRECT_ID = 77_000_001  # updates posted by the test itself, apart from the emulator's ids


async def test_webhook_mode_end_to_end(emulator: Emulator, db_url: str, tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(
        emulator,
        db_url,
        tmp_path,
        webhook_listen=f"127.0.0.1:{port}",
        webhook_public_url=f"http://127.0.0.1:{port}/tg-hook",
        webhook_secret=SECRET,
    )
    runtime = BotRuntime(settings, clock=FakeClock())
    await runtime.start("webhook")
    try:
        update = {
            "update_id": 999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 4242, "type": "private"},
                "from": {"id": 4242, "is_bot": False, "first_name": "Mallory"},
                "text": "/help",
            },
        }
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


# ---------------------------------------------------------------- posting updates as Telegram does


@dataclass
class Hook:
    """The bot in webhook mode, and a way to post to it what Telegram would."""

    emulator: Emulator
    runtime: BotRuntime
    url: str
    http: aiohttp.ClientSession
    next_id: int = FIRST_DIRECT_ID

    async def post(self, body: Any) -> tuple[int, Any]:
        """POSTs a body (raw bytes are sent as they are); the status and the decoded answer."""
        kwargs: dict[str, Any] = (
            {"data": body, "headers": HEADERS | {"Content-Type": "application/json"}}
            if isinstance(body, bytes)
            else {"json": body, "headers": HEADERS}
        )
        async with self.http.post(self.url, **kwargs) as response:
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()

    def text_update(
        self, user_id: int, first_name: str, text: str, *, chat: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A new update with a text message (a command gets its bot_command entity)."""
        self.next_id += 1
        message: dict[str, Any] = {
            "message_id": self.next_id,
            "date": int(time.time()),
            "chat": chat or {"id": user_id, "type": "private", "first_name": first_name},
            "from": {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": self.next_id, "message": message}

    def bot_texts(self, chat_id: int) -> list[str]:
        """What the chat shows from the bot, oldest first."""
        return [
            str(m.get("text") or m.get("caption") or "")
            for m in self.emulator.messages(chat_id)
            if m.get("from", {}).get("is_bot")
        ]


@pytest.fixture
async def hook(emulator: Emulator, db_url: str, tmp_path: Path) -> AsyncIterator[Hook]:
    """The bot in webhook mode, without timed jobs or a background outbox, so a chat shows only
    what the updates of the test caused."""
    port = free_port()
    settings = make_settings(
        emulator,
        db_url,
        tmp_path,
        webhook_listen=f"127.0.0.1:{port}",
        webhook_public_url=f"http://127.0.0.1:{port}/tg-hook",
        webhook_secret=SECRET,
    )
    runtime = BotRuntime(settings, clock=FakeClock(), timed_jobs=False, outbox_interval=None)
    await runtime.start("webhook")
    try:
        async with aiohttp.ClientSession() as http:
            yield Hook(emulator, runtime, f"http://127.0.0.1:{port}/tg-hook", http)
    finally:
        await runtime.stop()


async def _profile(hook: Hook, user_id: int) -> tuple[str | None, str | None, str | None]:
    assert hook.runtime.services is not None
    async with unit_of_work(hook.runtime.services.sessions) as s:
        member = await members.by_telegram_id(s, user_id)
        state = await conversations.load(s, user_id)
        assert member is not None
        return member.first_name, member.last_name, state.step if state is not None else None


async def _count(hook: Hook, model: type[Any]) -> int:
    assert hook.runtime.services is not None
    async with unit_of_work(hook.runtime.services.sessions) as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------- the tests


async def test_the_answer_comes_after_the_commit_and_a_retry_changes_nothing(hook: Hook) -> None:
    alice = Person(hook.emulator, 1001, "Alice")
    await to_first_name(alice)
    update = hook.text_update(1001, "Alice", "Alice")

    status, body = await hook.post(update)
    assert (status, body) == (200, {"ok": True})
    # By the time Telegram hears 200, the answer is saved and the next question is out.
    assert await _profile(hook, 1001) == ("Alice", None, "last_name")
    assert "last name" in hook.bot_texts(1001)[-1]
    asked = await alice.expect("last name")

    status, _ = await hook.post(update)  # Telegram did not hear the 200 and retries
    assert status == 200
    again = await alice.next_reply()
    assert again.text == asked.text  # the question once more, not "Alice" taken as the last name
    assert await _profile(hook, 1001) == ("Alice", None, "last_name")

    await alice.send("Tan")  # the emulator's own delivery goes on as before
    await alice.expect("Where do you live?")
    assert await _profile(hook, 1001) == ("Alice", "Tan", "country")


async def test_a_failing_handler_still_gets_200_after_the_user_was_told(hook: Hook) -> None:
    alice = Person(hook.emulator, 1001, "Alice")
    await to_first_name(alice)
    hook.emulator.fail("sendMessage", error_code=400, description="Bad Request: the reply broke", times=1, chat_id=1001)
    status, _ = await hook.post(hook.text_update(1001, "Alice", "Alice"))
    assert status == 200  # a poison update must not come back forever
    assert "something went wrong" in hook.bot_texts(1001)[-1]  # the error handler answered first
    assert await _profile(hook, 1001) == ("Alice", None, "last_name")  # committed before the reply


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"foo": 1},
        {"update_id": "x"},
        {"update_id": True},
        {"update_id": -1},
        {"update_id": 5, "message": "x"},
        {"update_id": 5, "message": {"foo": 1}},
        None,
        "update",
        3,
        b"{not json",
        b"\xff\xfe{}",
    ],
    ids=repr,
)
async def test_a_body_that_is_not_an_update_is_a_400_with_a_reason(hook: Hook, body: Any) -> None:
    calls = len(hook.emulator.calls)
    status, answer = await hook.post(body)
    assert status == 400
    assert answer["ok"] is False and answer["error"] and "Traceback" not in answer["error"]
    assert await _count(hook, ProcessedUpdate) == 0
    assert len(hook.emulator.calls) == calls  # nothing was sent to anyone


async def test_a_staff_command_retried_after_it_finished_is_not_run_again(hook: Hook) -> None:
    group = {"id": STAFF_CHAT_ID, "type": "supergroup", "title": "Redemption staff"}
    update = hook.text_update(
        STAFF_ID, "Sam", "/reasons add blurry_photo en: The photo is blurry | zh-Hant: 照片模糊", chat=group
    )
    assert (await hook.post(update))[0] == 200
    shown = hook.bot_texts(STAFF_CHAT_ID)
    assert "blurry_photo" in shown[-1] and "added" in shown[-1]
    assert await _count(hook, CannedReason) == 1

    assert (await hook.post(update))[0] == 200  # the retry: the answer already went out
    assert hook.bot_texts(STAFF_CHAT_ID) == shown  # no second answer ("already exists")
    assert await _count(hook, CannedReason) == 1
