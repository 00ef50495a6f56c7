"""Receiving a customer's image: a Telegram photo or an image sent as a file.

Shared by every step that asks for a photo (invoice, S/N label, re-uploads). The router calls
`prefetch` before the update's unit of work opens: the download limit and refusing documents that
are not images happen here, then storage.photo_intake does the image work in a worker thread
(validation, normalizing, hashes, barcodes), so the transaction only records the results. Steps
call `store_image` / `received_serials` for what was prepared.
"""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from dataclasses import dataclass

from PIL import Image
from telegram import Bot, Document, Message, PhotoSize
from telegram.error import BadRequest, TelegramError

from conversations.turn import Turn
from storage.media import ImageProblem, ImageRejected, ImageRules, MediaStore
from storage.photo_intake import PhotoUse, PreparedPhoto, prepare_photo

log = logging.getLogger(__name__)

RULES = ImageRules()
MAX_DOWNLOAD_BYTES = RULES.max_bytes  # getFile refuses files over 20 MB anyway


def sniff(data: bytes, rules: ImageRules = RULES) -> ImageProblem | None:
    """Judges a file by its bytes (not its name or MIME hint): None when it is an image format
    the media rules accept. Only the header is read; the full check is MediaStore.save's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format
        except Image.DecompressionBombError:
            return None  # an image after all: save() refuses it as a bomb, with that message
        except Exception:
            return ImageProblem.NOT_AN_IMAGE
    if fmt not in rules.formats:
        return ImageProblem.UNSUPPORTED_FORMAT
    return None


def _largest(photo: tuple[PhotoSize, ...]) -> PhotoSize:
    return max(photo, key=lambda size: (size.width * size.height, size.file_size or 0))


@dataclass(frozen=True)
class Download:
    """An image fetched from Telegram (and, once prepared, its results), or the reason it was
    not (an `images.*` key suffix)."""

    data: bytes | None
    problem: str | None = None
    prepared: PreparedPhoto | None = None


DOWNLOAD_FAILED = "download_failed"  # the customer is asked to send the photo again


async def download(message: Message, bot: Bot) -> Download:
    """Fetches the photo (largest size) or the document of a message.

    Refuses files over 20 MB before downloading them (by `file_size`, and again by what getFile
    reports), and documents whose bytes are not an accepted image format. A transfer that fails
    (an error, an expired file, an empty, short or garbled body) is `download_failed`, never an
    exception: it is nobody's fault, and sending the photo again is the cure. Runs before the
    update's unit of work opens, so a slow download never holds the database."""
    source: PhotoSize | Document | None = _largest(message.photo) if message.photo else message.document
    if source is None:
        return Download(None, "expected_photo")
    if source.file_size is not None and source.file_size > MAX_DOWNLOAD_BYTES:
        return Download(None, ImageProblem.TOO_BIG.value)
    try:
        file = await bot.get_file(source.file_id)
    except TelegramError as exc:
        if isinstance(exc, BadRequest) and "too big" in str(exc).lower():
            return Download(None, ImageProblem.TOO_BIG.value)
        return _failed("getFile", exc)
    if file.file_size is not None and file.file_size > MAX_DOWNLOAD_BYTES:
        return Download(None, ImageProblem.TOO_BIG.value)
    try:
        data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        return _failed("download", exc)
    if not data or (file.file_size is not None and len(data) != file.file_size):
        return _failed("download", f"{len(data)} bytes, getFile said {file.file_size}")
    problem = sniff(data)
    if problem is ImageProblem.NOT_AN_IMAGE and isinstance(source, PhotoSize):
        return _failed("download", "a photo whose bytes are no image")  # Telegram sends photos as JPEG
    if problem is not None and isinstance(source, Document):
        log.info("refused a document (%s, %s bytes): %s", source.mime_type, len(data), problem.value)
        return Download(None, problem.value)
    return Download(data)


def _failed(stage: str, reason: object) -> Download:
    log.warning("image %s failed, asking for the photo again: %s", stage, reason)
    return Download(None, DOWNLOAD_FAILED)


async def prefetch(message: Message, bot: Bot, media: MediaStore, use: PhotoUse) -> Download:
    """Downloads the photo and does all its image work (checks, normalizing, hashes, barcodes) in
    a worker thread; called before the update's unit of work opens, so it only records results."""
    fetched = await download(message, bot)
    return fetched if fetched.data is None else await _prepare(fetched.data, media, use)


async def _prepare(data: bytes, media: MediaStore, use: PhotoUse) -> Download:
    try:
        prepared = await asyncio.to_thread(prepare_photo, media, data, use)
    except ImageRejected as rejected:
        return Download(None, rejected.problem.value)
    return Download(data, prepared=prepared)


async def _prepared(turn: Turn, use: PhotoUse) -> PreparedPhoto | None:
    """The photo of this message prepared for `use` before the unit of work (or now, when the
    step changed under it and it was prepared otherwise, or not at all), or None after queuing
    the reason it was refused."""
    message = turn.update.effective_message
    fetched = turn.download
    if fetched is None or (fetched.prepared is not None and not fetched.prepared.serves(use)):
        if fetched is not None and fetched.data is not None:
            fetched = await _prepare(fetched.data, turn.services.media, use)
        elif message is not None:
            fetched = await prefetch(message, turn.context.bot, turn.services.media, use)
        else:
            fetched = Download(None, "expected_photo")
    if fetched.prepared is None:
        turn.say("errors.expected_photo" if fetched.problem == "expected_photo" else f"images.{fetched.problem}")
        return None
    return fetched.prepared


async def received_serials(turn: Turn) -> tuple[str, ...] | None:
    """The serials read from the barcodes of this message's photo (possibly none), or None after
    queuing the reason the photo was refused."""
    prepared = await _prepared(turn, PhotoUse.READ_SERIALS)
    return prepared.serials if prepared is not None else None


@dataclass(frozen=True)
class SavedPhoto:
    """A customer photo as stored: normalized file, exact hash, perceptual hash, and the serials
    its barcodes carry when the step asked for them."""

    path: str
    sha256: str
    phash: int | None
    serials: tuple[str, ...] = ()


async def store_image(turn: Turn, use: PhotoUse = PhotoUse.STORE) -> SavedPhoto | None:
    """The stored photo of this message (normalized, hashed and read before the unit of work),
    or None after queuing the reason it was refused."""
    prepared = await _prepared(turn, use)
    if prepared is None:
        return None
    assert prepared.path is not None and prepared.sha256 is not None  # serves(use) for a STORE use
    return SavedPhoto(prepared.path, prepared.sha256, prepared.phash, prepared.serials)
