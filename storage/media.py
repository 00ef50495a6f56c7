"""Image intake: validate customer photos and store them as clean, content-addressed JPEGs.

Invoice and serial-label photos come from untrusted clients, so everything is judged from
the bytes (never the file name or the Telegram MIME hint), checked for decompression bombs
before any pixel is decoded, and re-encoded so no EXIF/GPS/ICC metadata reaches storage.
Pure Pillow + stdlib: no Telegram imports, safe to call from a worker thread.
"""

from __future__ import annotations

import enum
import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, ImageMath, UnidentifiedImageError

__all__ = [
    "ImageProblem",
    "ImageRejected",
    "ImageRules",
    "Leftovers",
    "StoredImage",
    "MediaStore",
    "normalize_image",
    "thumbnail",
]

JPEG_QUALITY = 85


class ImageProblem(enum.StrEnum):
    """Why an upload was refused; the value doubles as a locale-key suffix for the reply."""

    TOO_BIG = "too_big"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    BROKEN = "broken"
    TOO_SMALL = "too_small"
    BOMB = "bomb"


class ImageRejected(Exception):
    """Raised for any refused upload; `problem` is for the user, `detail` only for logs."""

    def __init__(self, problem: ImageProblem, detail: str = "") -> None:
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class ImageRules:
    """Limits are per call (not Pillow globals) so tests and callers can tighten them."""

    max_bytes: int = 20 * 1024 * 1024  # Telegram's bot download limit
    max_width: int = 1600  # enough to read a serial sticker; keeps storage small
    min_side: int = 200  # below this a label or invoice cannot be read by staff
    max_pixels: int = 40_000_000
    formats: frozenset[str] = frozenset({"JPEG", "PNG", "GIF"})


@dataclass(frozen=True)
class StoredImage:
    sha256: str  # of the normalized JPEG bytes, hence also the file name
    width: int
    height: int
    size: int  # bytes on disk
    relative_path: str  # POSIX path below MediaStore.root, e.g. "ab/cd/<sha>.jpg"
    original_format: str  # what the upload really was ("JPEG", "PNG", "GIF")


def _decode(data: bytes, rules: ImageRules, draft_box: tuple[int, int] | None = None) -> tuple[Image.Image, str]:
    """Open and fully load `data`, refusing anything that breaks `rules`; cheap checks first.

    A JPEG is decoded at the smallest of libjpeg's 1/2, 1/4, 1/8 scales that keeps it at least
    `draft_box` (default: `rules.max_width` on the side that becomes the width once upright), so a
    12 MP photo is never decoded at full size only to be shrunk."""
    if len(data) > rules.max_bytes:
        raise ImageRejected(ImageProblem.TOO_BIG, f"{len(data)} > {rules.max_bytes} bytes")
    # Pillow only *warns* about moderately large images; make that an error here so the
    # verdict does not depend on global warning filters or Image.MAX_IMAGE_PIXELS.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected(ImageProblem.BOMB, str(exc)) from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageRejected(ImageProblem.NOT_AN_IMAGE, repr(exc)) from exc
        fmt = img.format or "?"
        if fmt not in rules.formats:
            raise ImageRejected(ImageProblem.UNSUPPORTED_FORMAT, fmt)
        width, height = img.size
        if width * height > rules.max_pixels:
            raise ImageRejected(ImageProblem.BOMB, f"{width}x{height} > {rules.max_pixels} px")
        if min(width, height) < rules.min_side:
            raise ImageRejected(ImageProblem.TOO_SMALL, f"{width}x{height}")
        if fmt == "JPEG" and draft_box is None and rules.max_width > 0:  # (a PNG's EXIF would load it)
            draft_box = (1, rules.max_width) if _orientation(img) in _TURNED else (rules.max_width, 1)
        if fmt == "JPEG" and draft_box is not None:
            img.draft("RGB", draft_box)
        _narrow_colour_key(img)
        try:
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected(ImageProblem.BOMB, str(exc)) from exc
        except Exception as exc:  # truncated/corrupt streams raise many different types
            raise ImageRejected(ImageProblem.BROKEN, repr(exc)) from exc
    return img, fmt


WIDE_GREY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
SIXTEEN_BIT_STEP = 257  # 65535 / 255: 16-bit values onto 0..255


def _eight_bit(img: Image.Image) -> Image.Image:
    """The image at 8 bits per channel, its values scaled, never clipped.

    A 16-bit grey PNG opens as I;16 (other decoders give I or F); converting that straight to RGB
    clips every value above 255, so a mid-grey invoice was stored white. Its transparency key,
    if any, becomes an alpha channel (LA)."""
    key = img.info.get("transparency")
    if img.mode in WIDE_GREY_MODES:
        wide = img if img.mode in ("I", "F") else img.convert("I")
        grey = wide.point(lambda v: v * (1 / SIXTEEN_BIT_STEP) + 0.5).convert("L")
        if isinstance(key, int | float):
            alpha = ImageMath.lambda_eval(lambda args: (args["wide"] != key) * 255, wide=wide)
            grey = Image.merge("LA", (grey, alpha.convert("L")))
        return grey
    return img


def _narrow_colour_key(img: Image.Image) -> None:
    """A 16-bit colour PNG opens as 8-bit RGB (the high bytes) but keeps its tRNS key in 16 bits,
    which no pixel would match: the key is brought down the same way, so the transparent colour
    still flattens on white. Called before load, while the tile still tells the bit depth."""
    key = img.info.get("transparency")
    if img.mode == "RGB" and isinstance(key, tuple) and any(tile[3] == "RGB;16B" for tile in getattr(img, "tile", ())):
        img.info["transparency"] = tuple(value >> 8 for value in key)


# EXIF orientation -> the transpose that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_TURNED = frozenset({5, 6, 7, 8})  # upright, the stored height becomes the width
# Area averaging (Pillow's box filter widens with the step, so nothing aliases): after a draft
# decode the step is under 2x, where text reads as well as with Lanczos, at a third of its cost.
RESIZE_FILTER = Image.Resampling.BOX


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation (1 = as stored); read from the header, before any pixel is decoded."""
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # malformed EXIF must not block an otherwise valid photo
        return 1
    return value if isinstance(value, int) and value in _UPRIGHT else 1


def _to_rgb(img: Image.Image, max_width: int = 0) -> Image.Image:
    """Upright RGB: wide values scaled to 8 bits, transparency flattened on white, shrunk to
    `max_width` (when over it) before the EXIF rotation, so the rotation moves the small image."""
    turn = _orientation(img)
    img = _eight_bit(img)
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    elif img.mode != "RGB":
        img = img.convert("RGB")
    width, height = (img.height, img.width) if turn in _TURNED else img.size
    if 0 < max_width < width:
        height = max(1, round(height * max_width / width))
        img = img.resize((height, max_width) if turn in _TURNED else (max_width, height), RESIZE_FILTER)
    if turn in _UPRIGHT:
        img = img.transpose(_UPRIGHT[turn])
    img.info = {}  # JPEG save would otherwise carry over e.g. the COM comment
    return img


def _encode_jpeg(img: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """One pass: `optimize` (a second pass for Huffman tables) would cost 2x the encode for 7 %."""
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def normalize_image(data: bytes, rules: ImageRules = ImageRules()) -> tuple[bytes, int, int, str]:
    """Validate and re-encode an upload; returns (jpeg bytes, width, height, original format).

    Raises ImageRejected. The output is deterministic for the same input, which is what makes
    content-addressed storage deduplicate repeated uploads of the same photo.
    """
    img, fmt = _decode(data, rules)
    try:
        rgb = _to_rgb(img, rules.max_width)
    except Exception as exc:  # exotic modes that fail to convert are as good as broken
        raise ImageRejected(ImageProblem.BROKEN, repr(exc)) from exc
    return _encode_jpeg(rgb), rgb.width, rgb.height, fmt


def thumbnail(data: bytes, size: int = 320) -> bytes:
    """Small JPEG (longest side <= size) for staff summaries and albums; blocking (a worker
    thread's job: decoding a stored invoice takes milliseconds)."""
    img, _ = _decode(data, ImageRules(min_side=1, max_width=0), draft_box=(size, size))
    rgb = _to_rgb(img)
    rgb.thumbnail((size, size), Image.Resampling.LANCZOS)
    return _encode_jpeg(rgb, quality=80)


TEMP_PREFIX = ".tmp-"
STORED_NAME = re.compile(r"[0-9a-f]{64}\.jpg")


@dataclass(frozen=True)
class Leftovers:
    """What a sweep may remove: files last modified before its cutoff, as relative paths."""

    temp_files: list[str]  # half-written by a process that died before its rename
    photos: list[str]  # stored photos: orphans only if no row references them
    stored: int  # every stored photo, however recent (the sweep's sanity check)


class MediaStore:
    """Content-addressed JPEG store: root/ab/cd/<sha256>.jpg.

    The same photo uploaded twice maps to one file, so `delete` must only be called once no
    record references the path any more.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def save(self, data: bytes, rules: ImageRules = ImageRules()) -> StoredImage:
        """Normalize and store `data` (raises ImageRejected); idempotent and atomic.

        A file already there is not rewritten but touched: the orphan sweep spares recent files,
        and this one is about to be referenced again by the caller's transaction."""
        jpeg, width, height, fmt = normalize_image(data, rules)
        sha = hashlib.sha256(jpeg).hexdigest()
        relative = f"{sha[:2]}/{sha[2:4]}/{sha}.jpg"
        target = self.path(relative)
        if not _touch(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write next to the target then rename, so readers never see a half-written file.
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX, suffix=".jpg")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(jpeg)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredImage(sha, width, height, len(jpeg), relative, fmt)

    def path(self, relative_path: str | os.PathLike[str]) -> Path:
        """Absolute path for a stored file; refuses anything escaping the root."""
        rel = PurePosixPath(os.fspath(relative_path))
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"invalid media path: {relative_path!r}")
        return self.root.joinpath(*rel.parts)

    def read(self, relative_path: str | os.PathLike[str]) -> bytes:
        return self.path(relative_path).read_bytes()

    def thumbnail(self, relative_path: str | os.PathLike[str], size: int = 320) -> bytes:
        """A stored photo as a small JPEG; blocking (about 10 ms), so callers run it in a thread."""
        return thumbnail(self.read(relative_path), size)

    def delete(self, relative_path: str | os.PathLike[str]) -> None:
        """Remove a stored file; missing files are fine (retries, concurrent cleanup)."""
        self.path(relative_path).unlink(missing_ok=True)

    def leftovers(self, older_than: float) -> Leftovers:
        """Temp files and stored photos last modified before `older_than` (a time.time() value).

        Only the store's own layout is looked at (root/ab/cd/): anything else in the directory
        is not ours to judge."""
        temp_files: list[str] = []
        photos: list[str] = []
        stored = 0
        for folder in self._folders():
            for entry in os.scandir(folder):
                is_temp = entry.name.startswith(TEMP_PREFIX)
                is_photo = not is_temp and STORED_NAME.fullmatch(entry.name) is not None
                if not entry.is_file(follow_symlinks=False) or not (is_temp or is_photo):
                    continue
                stored += is_photo
                try:
                    old = entry.stat(follow_symlinks=False).st_mtime < older_than
                except FileNotFoundError:  # removed meanwhile (a rename, another sweep)
                    continue
                if old:
                    (temp_files if is_temp else photos).append(f"{folder.parent.name}/{folder.name}/{entry.name}")
        return Leftovers(sorted(temp_files), sorted(photos), stored)

    def remove_if_older(self, relative_path: str, older_than: float) -> bool:
        """Deletes the file unless it was modified at or after `older_than` (looked at again
        right before: `save` touches a file it reuses). Folders stay: `save` may be about to
        write into one."""
        path = self.path(relative_path)
        try:
            if path.stat().st_mtime >= older_than:
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def _folders(self) -> list[Path]:
        """The store's ab/cd folders."""
        if not self.root.is_dir():
            return []
        two_hex = re.compile(r"[0-9a-f]{2}")
        return [
            inner
            for outer in sorted(self.root.iterdir())
            if outer.is_dir() and not outer.is_symlink() and two_hex.fullmatch(outer.name)
            for inner in sorted(outer.iterdir())
            if inner.is_dir() and not inner.is_symlink() and two_hex.fullmatch(inner.name)
        ]


def _touch(path: Path) -> bool:
    """Sets the file's mtime to now; False when there is no such file."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True
