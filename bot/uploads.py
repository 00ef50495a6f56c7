"""Bundled pictures (bot/assets) uploaded once per bot, then sent by the `file_id` Telegram gave.

The "where is the S/N" and example pictures are shown on nearly every registration; sending
their bytes each time costs an upload per message (Telegram clients and bots normally send a
known file by id). The ids live in the database (storage/uploaded_files.py, per bot id, name and
content hash), so every process and every restart reuses them; a process reads them once, on
first use, and writes a new id in its own small transaction after the send, never in an
update's unit of work. When Telegram refuses an id (another server, an expired reference), the
picture is uploaded again and the new id replaces the old one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path
from typing import Any

from telegram import Message
from telegram.error import BadRequest

from bot.assets import ASSETS_DIR
from bot.replies import sender
from storage import uploaded_files
from storage.clock import Clock
from storage.db import SessionFactory, unit_of_work

log = logging.getLogger(__name__)

BOT_DATA_KEY = "uploads"
# What Telegram says of a file_id it will not send (PTB drops "Bad Request: "); any other
# BadRequest (caption too long, chat not found) would fail the same way with the bytes.
REFUSED_ID = (
    "wrong file identifier",
    "wrong remote file identifier",
    "file reference",
    "can't use file of type",
    "wrong type of the web page content",
    "failed to get http url content",
    "invalid file_id",
    "file_id_invalid",
)


def refused_id(error: BadRequest) -> bool:
    """Whether Telegram refused the file_id itself (so an upload of the bytes would succeed)."""
    text = str(error).lower()
    return any(fragment in text for fragment in REFUSED_ID)


class UploadCache:
    """This process's copy of the stored ids, and each bundled file's content hash."""

    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._ids: dict[str, dict[str, tuple[str, str]]] = {}  # bot key -> name -> (sha256, file_id)
        self._hashes: dict[Path, str] = {}
        self._loading = asyncio.Lock()

    def content_hash(self, path: Path) -> str:
        """sha256 of a bundled file, read once per process (assets do not change while it runs)."""
        digest = self._hashes.get(path)
        if digest is None:
            digest = self._hashes[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return digest

    async def file_id(self, bot_key: str, name: str, sha256: str) -> str | None:
        """The id to send instead of the bytes, or None (never uploaded, or other bytes since)."""
        known = self._ids.get(bot_key)
        if known is None:
            async with self._loading:  # the first photo of a busy start loads them once
                known = self._ids.get(bot_key)
                if known is None:
                    async with unit_of_work(self._sessions) as session:
                        known = await uploaded_files.known_uploads(session, bot_key)
                    self._ids[bot_key] = known
        stored = known.get(name)
        return stored[1] if stored is not None and stored[0] == sha256 else None

    def forget(self, bot_key: str, name: str) -> None:
        """Telegram refused the id: the next send uploads the bytes."""
        self._ids.get(bot_key, {}).pop(name, None)

    async def remember(self, bot_key: str, name: str, sha256: str, file_id: str) -> None:
        """Keeps the id in memory and stores it; a failed write only costs another upload later."""
        self._ids.setdefault(bot_key, {})[name] = (sha256, file_id)
        try:
            async with unit_of_work(self._sessions) as session:
                await uploaded_files.remember_upload(session, bot_key, name, sha256, file_id, self._clock.now())
        except Exception:  # noqa: BLE001 - the photo is out; what failed is a note for next time
            log.warning("file_id of %s not stored", name, exc_info=True)


def uploads(context: Any) -> UploadCache:
    """The process's cache, made on first use from the context's services."""
    bot_data = context.application.bot_data
    cache: UploadCache | None = bot_data.get(BOT_DATA_KEY)
    if cache is None:
        services = context.services
        cache = bot_data[BOT_DATA_KEY] = UploadCache(services.sessions, services.clock)
    return cache


def asset_name(path: Path) -> str:
    """The key of a bundled file: its name in bot/assets, else its whole path."""
    return path.name if path.parent == ASSETS_DIR else str(path)[-200:]


async def send_photo(context: Any, chat_id: int, photo: bytes | Path, **kwargs: Any) -> Message | None:
    """`bot.send_photo` through the reply sender; a file (a bundled picture) goes by its stored
    file_id when there is one, else as bytes, and the id Telegram answers is stored for next time."""
    bot, send = context.bot, sender(context).send
    if not isinstance(photo, Path):  # a customer's photo made for this message: nothing to reuse
        sent: Message | None = await send(chat_id, bot.send_photo, chat_id, photo, **kwargs)
        return sent
    cache, name, bot_key = uploads(context), asset_name(photo), str(bot.id)
    sha256 = cache.content_hash(photo)
    known = await cache.file_id(bot_key, name, sha256)
    if known is not None:
        try:
            sent = await send(chat_id, bot.send_photo, chat_id, known, **kwargs)
            return sent
        except BadRequest as exc:
            if not refused_id(exc):
                raise
            log.info("stored file_id of %s refused (%s): uploading it again", name, exc)
            cache.forget(bot_key, name)
    sent = await send(chat_id, bot.send_photo, chat_id, photo.read_bytes(), filename=photo.name, **kwargs)
    if sent is not None and sent.photo:
        await cache.remember(bot_key, name, sha256, sent.photo[-1].file_id)
    return sent
