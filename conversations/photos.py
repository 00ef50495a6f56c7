"""Receiving a customer's image: a Telegram photo or an image sent as a file.

Shared by every step that asks for a photo (invoice, S/N label, re-uploads). `store_image` is what
steps call: the download limit and refusing documents that are not images happen here, then
`media.save` does the full validation (size, decompression bombs, format, dimensions) and the
normalization, and the perceptual hash is taken for the duplicate-photo check.
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

from storage.media import ImageProblem, ImageRejected, ImageRules
from conversations.turn import Turn
from storage.fingerprints import perceptual_hash

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = ImageRules().max_bytes  # getFile refuses files over 20 MB anyway


def sniff(data: bytes, rules: ImageRules = ImageRules()) -> ImageProblem | None:
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
    """An image fetched from Telegram, or the reason it was not (an `images.*` key suffix)."""

    data: bytes | None
    problem: str | None = None


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


async def received_image(turn: Turn) -> bytes | None:
    """The bytes of the image in this message (fetched before the unit of work when the step
    expects a photo), or None after queuing the reason it was refused."""
    message = turn.update.effective_message
    fetched = turn.download or (await download(message, turn.context.bot) if message is not None else Download(None, "expected_photo"))
    if fetched.data is None:
        turn.say("errors.expected_photo" if fetched.problem == "expected_photo" else f"images.{fetched.problem}")
    return fetched.data


@dataclass(frozen=True)
class SavedPhoto:
    """A customer photo as stored: normalized file, exact hash, perceptual hash."""

    path: str
    sha256: str
    phash: int | None


async def store_image(turn: Turn) -> SavedPhoto | None:
    """Receives, checks, normalizes and stores the image of this message, with its fingerprints.

    None after queuing the reason it was refused. Decoding runs in a thread: photos are big."""
    data = await received_image(turn)
    if data is None:
        return None
    try:
        stored = await asyncio.to_thread(turn.services.media.save, data)
    except ImageRejected as rejected:
        turn.say(f"images.{rejected.problem.value}")
        return None
    try:
        phash: int | None = await asyncio.to_thread(perceptual_hash, turn.services.media.read(stored.relative_path))
    except ValueError:
        phash = None
    return SavedPhoto(stored.relative_path, stored.sha256, phash)
