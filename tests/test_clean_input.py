"""Text with NUL or a lone surrogate is cleaned where updates enter (bot/clean_input.py): the
person gets the answer any other text gets, and nothing stored holds a NUL, on both databases."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.clean_input import clean_payload, clean_text
from bot.runtime import BotRuntime
from bot.transport import AiohttpRequest
from emulator import Emulator
from storage import conversations, members
from storage.clock import FakeClock
from storage.db import unit_of_work
from storage.models import ConversationState, Member
from tests.conftest import BotHarness, make_settings
from tests.factories import free_port, read_code, to_first_name
from tests.harness import Person

SECRET = "clean_input-secret"


# ---------------------------------------------------------------- the cleaning itself


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain", "plain"),
        ("a\x00b", "ab"),
        ("\x00\x00", ""),
        ("x\ud800y", "x\ufffdy"),  # a lone high surrogate
        ("x\udc00", "x\ufffd"),  # a lone low surrogate
        ("\ud83d\ude00", "😀"),  # a pair, as JSON escapes leave it: one character
        ("😀\x00\ud800", "😀\ufffd"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    clean_text(raw).encode("utf-8")  # what a database driver does with it


def test_entities_move_left_past_the_dropped_nuls() -> None:
    message = {
        "text": "\x00/help \x00 😀 /faq\x00",
        "entities": [
            {"type": "bot_command", "offset": 1, "length": 5},
            {"type": "bot_command", "offset": 12, "length": 4},  # after two NULs and a 2-unit emoji
            {"type": "bold", "offset": 0, "length": 1},  # only the NUL: nothing left of it
        ],
    }
    cleaned = clean_payload({"message": message})["message"]
    assert cleaned["text"] == "/help  😀 /faq"
    assert [(e["offset"], e["length"]) for e in cleaned["entities"]] == [(0, 5), (10, 4)]
    units = cleaned["text"].encode("utf-16-le")  # offsets count UTF-16 units: 2 bytes each
    assert [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le") for e in cleaned["entities"]
    ] == ["/help", "/faq"]
    assert message["text"].startswith("\x00")  # a copy: the input is left as it was


def test_polling_door_cleans_every_string_of_the_response() -> None:
    """getUpdates answers are parsed by the transport: JSON escapes become clean strings."""
    payload = b'{"ok":true,"result":[{"update_id":1,"message":{"text":"Al\\u0000ice\\ud800","contact":{"first_name":"B\\u0000"}},"callback_query":{"data":"v:\\u0000x"}}]}'
    result = AiohttpRequest.parse_json_payload(payload)["result"][0]
    assert result["message"] == {"text": "Alice\ufffd", "contact": {"first_name": "B"}}
    assert result["callback_query"]["data"] == "v:x"


# ---------------------------------------------------------------- through the emulator


async def _member(bot: BotHarness, user_id: int) -> Member:
    async with unit_of_work(bot.sessions) as s:
        member = await members.by_telegram_id(s, user_id)
        assert member is not None
        return member


async def _state(bot: BotHarness, user_id: int) -> tuple[str, str] | None:
    async with unit_of_work(bot.sessions) as s:
        state = await conversations.load(s, user_id)
        return (state.flow, state.step) if state is not None else None


async def _stored_text(bot: BotHarness) -> str:
    """Every member and conversation state the database holds, as one text."""
    async with unit_of_work(bot.sessions) as s:
        rows = [*(await s.scalars(select(Member))).all(), *(await s.scalars(select(ConversationState))).all()]
        return json.dumps(
            [{c.name: getattr(r, c.key, None) for c in r.__table__.columns} for r in rows],
            default=str,
            ensure_ascii=False,
        )


async def test_profile_answers_with_nul_and_lone_surrogates_get_the_normal_answer(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    alice = bot.person(1001, "Alice")
    await alice.send("\x00/start")  # the command entity moves with the text
    await alice.expect("Welcome, ")
    await alice.expect("Privacy policy")
    await alice.press("✅ I agree")
    await alice.expect("Your e-mail address")

    await alice.send("alice\x00@example.com")
    await alice.expect("6-digit code", "alice@example.com")
    await alice.send(await read_code(alice, "alice@example.com"))
    await alice.expect("is confirmed")
    await alice.expect("first name")
    await alice.send("Al\x00ice\ud800")  # Telegram delivers the lone surrogate as U+FFFD; NUL as sent
    await alice.expect("last name")
    await alice.send("\x00Tan\x00")
    await alice.expect("Where do you live?")
    state = await _state(bot, 1001)
    await alice.send("Singa\x00pore")  # free text, found once the NUL is gone
    await alice.expect("Contact number")
    assert await _state(bot, 1001) != state

    member = await _member(bot, 1001)
    assert (member.email, member.first_name, member.last_name, member.country) == (
        "alice@example.com",
        "Alice\ufffd",
        "Tan",
        "SG",
    )
    stored = await _stored_text(bot)
    assert "\x00" not in stored and "\\u0000" not in stored
    stored.encode("utf-8")  # no lone surrogate anywhere
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# ---------------------------------------------------------------- the webhook door


async def test_webhook_update_with_escaped_nul_and_lone_surrogate(
    emulator: Emulator, db_url: str, tmp_path: Path
) -> None:
    """The JSON of a webhook call may carry "\\ud800" escapes; they are cleaned like polling's."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg-hook"
    settings = make_settings(
        emulator, db_url, tmp_path, webhook_listen=f"127.0.0.1:{port}", webhook_public_url=url, webhook_secret=SECRET
    )
    runtime = BotRuntime(settings, clock=FakeClock(), timed_jobs=False, outbox_interval=None)
    await runtime.start("webhook")
    try:
        alice = Person(emulator, 1001, "Alice")
        await to_first_name(alice)

        body = (
            '{"update_id": 777001, "message": {"message_id": 9001, "date": %d, '
            '"chat": {"id": 1001, "type": "private", "first_name": "Alice"}, '
            '"from": {"id": 1001, "is_bot": false, "first_name": "Al\\u0000ice", "language_code": "en"}, '
            '"text": "Bo\\u0000b\\ud800"}}' % int(time.time())
        ).encode()
        async with aiohttp.ClientSession() as http:
            async with http.post(
                url, data=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
            ) as response:
                assert response.status == 200
        await alice.expect("last name")
        assert runtime.services is not None
        async with unit_of_work(runtime.services.sessions) as s:
            member = await members.by_telegram_id(s, 1001)
            assert member is not None and member.first_name == "Bob\ufffd"
    finally:
        await runtime.stop()
