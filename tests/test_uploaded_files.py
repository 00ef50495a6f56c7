"""Bundled pictures go up once per bot, then by file_id; a refused id is uploaded again (bot/uploads.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from telegram.error import BadRequest

from bot.uploads import refused_id
from storage.db import unit_of_work
from storage.uploaded_files import UploadedFile
from tests.conftest import BotHarness
from tests.factories import customer
from tests.harness import Person

PICTURE = "serial_monitor.png"


async def _serial_picture(person: Person) -> None:
    """Starts a registration up to the serial step, whose question comes with the S/N picture,
    then cancels it: the cancel's answer comes after the update that sent the picture was
    handled to its end (one user's updates in order), so its file_id is stored by then."""
    await person.send("/register")
    await person.expect("Which kind of product")
    await person.press("Monitor")
    reply = await person.expect("serial number")
    assert reply.has_photo
    await person.send("/cancel")
    await person.next_reply()


def _photo_sends(bot: BotHarness, chat_id: int) -> list[Any]:
    """The `photo` parameter of every sendPhoto to the chat: a file_id string or "<file …>" (an upload)."""
    return [p["photo"] for m, p in bot.emulator.calls if m == "sendPhoto" and str(p.get("chat_id")) == str(chat_id)]


async def _stored(bot: BotHarness) -> dict[str, str]:
    async with unit_of_work(bot.sessions) as s:
        rows = await s.execute(select(UploadedFile.name, UploadedFile.file_id))
        return {name: file_id for name, file_id in rows.tuples()}


def _is_upload(sent: Any) -> bool:
    return isinstance(sent, str) and sent.startswith("<file ")


async def test_picture_is_uploaded_once_then_sent_by_file_id(bot: BotHarness) -> None:
    alice = await customer(bot, 7101, "Alice")
    await _serial_picture(alice)
    [first] = _photo_sends(bot, alice.chat_id)
    assert _is_upload(first)
    file_id = (await _stored(bot))[PICTURE]
    assert bot.emulator.state.files.get(file_id) is not None  # the id Telegram answered

    await _serial_picture(alice)
    bob = await customer(bot, 7102, "Bob")
    await _serial_picture(bob)  # another chat: the same id, the process already knows it
    assert _photo_sends(bot, alice.chat_id)[1:] == [file_id] and _photo_sends(bot, bob.chat_id) == [file_id]

    await bot.restart()  # a new process reads the stored id: still no upload
    carol = await customer(bot, 7103, "Carol")
    await _serial_picture(carol)
    assert _photo_sends(bot, carol.chat_id) == [file_id]


async def test_refused_file_id_is_uploaded_again_and_replaced(bot: BotHarness) -> None:
    """The server no longer knows the stored id (another Bot API server, an expired reference):
    it answers "wrong file identifier"; the bot uploads the picture and keeps the new id."""
    alice = await customer(bot, 7111, "Alice")
    await _serial_picture(alice)
    old_id = (await _stored(bot))[PICTURE]
    del bot.emulator.state.files.by_id[old_id]

    await _serial_picture(alice)
    sends = _photo_sends(bot, alice.chat_id)
    assert sends[1] == old_id and _is_upload(sends[2]) and len(sends) == 3
    new_id = (await _stored(bot))[PICTURE]
    assert new_id != old_id and bot.emulator.state.files.get(new_id) is not None

    bob = await customer(bot, 7112, "Bob")
    await _serial_picture(bob)
    assert _photo_sends(bot, bob.chat_id) == [new_id]


@pytest.mark.parametrize(
    ("description", "refused"),
    [
        ("Wrong file identifier/HTTP URL specified", True),
        ("Wrong remote file identifier specified: wrong padding in the string", True),
        ("File reference expired", True),
        ("Can't use file of type Document as Photo", True),
        ("Message caption is too long", False),
        ("Chat not found", False),
    ],
)
def test_only_a_refused_id_is_uploaded_again(description: str, refused: bool) -> None:
    """Any other BadRequest would fail the same with the bytes: it is raised, not retried."""
    assert refused_id(BadRequest(description)) is refused
