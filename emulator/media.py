"""Image and file-type helpers (Pillow): photo sizes, dimensions, MIME types."""

from __future__ import annotations

import io
import mimetypes
from dataclasses import dataclass

from .errors import bad_request

PHOTO_MAX_BYTES = 10 * 1024 * 1024
DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files ("file is too big")
PHOTO_BOXES = (100, 320, 800, 1280, 2560)


@dataclass
class PhotoVariant:
    """One size of a photo as Message.photo lists it."""

    data: bytes
    width: int
    height: int


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) if Pillow can read the image, else None."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return int(img.width), int(img.height)
    except Exception:  # noqa: BLE001 - any unreadable content is "not an image"
        return None


def check_photo(data: bytes) -> None:
    """Telegram's photo limits: 10 MB, width + height <= 10000, aspect ratio <= 20."""
    if not data:
        raise bad_request("file must be non-empty")
    if len(data) > PHOTO_MAX_BYTES:
        raise bad_request(
            f"file of size {len(data)} bytes is too big for a photo; the maximum size is {PHOTO_MAX_BYTES} bytes"
        )
    size = image_size(data)
    if size is None:
        return  # tolerated: tests often use placeholder bytes
    width, height = size
    if width <= 0 or height <= 0 or width + height > 10000 or max(width, height) > 20 * min(width, height):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")


def photo_variants(data: bytes) -> list[PhotoVariant]:
    """Sizes smallest first: JPEG thumbnails for each box smaller than the image, then the original.

    The largest size keeps the original bytes, so a bot that downloads ``photo[-1]`` gets exactly
    what the user sent; undecodable bytes give one 0x0 size.
    """
    size = image_size(data)
    if size is None:
        return [PhotoVariant(data, 0, 0)]
    width, height = size
    variants: list[PhotoVariant] = []
    longest = max(width, height)
    for box in PHOTO_BOXES:
        if box >= longest:
            break
        thumb = _thumbnail(data, box)
        if thumb is not None:
            variants.append(thumb)
    variants.append(PhotoVariant(data, width, height))
    return variants


def _thumbnail(data: bytes, box: int) -> PhotoVariant | None:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            rgb = img.convert("RGB")
        rgb.thumbnail((box, box))
        out = io.BytesIO()
        rgb.save(out, format="JPEG", quality=80)
        return PhotoVariant(out.getvalue(), rgb.width, rgb.height)
    except Exception:  # noqa: BLE001
        return None


def guess_mime(file_name: str | None, fallback: str = "application/octet-stream") -> str:
    if not file_name:
        return fallback
    return mimetypes.guess_type(file_name, strict=False)[0] or fallback


def extension_for(file_name: str | None, mime_type: str | None, default: str) -> str:
    """The extension a file_path gets: from the name, else from the MIME type."""
    if file_name and "." in file_name:
        ext = file_name.rsplit(".", 1)[1].lower()
        if ext.isalnum() and len(ext) <= 8:
            return ext
    if mime_type:
        guessed = mimetypes.guess_extension(mime_type, strict=False)
        if guessed:
            return guessed.lstrip(".")
    return default


def sniff_image_mime(data: bytes) -> str:
    """Content type for serving photo bytes to the browser."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"
