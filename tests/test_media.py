"""Image intake rules (bot.media) and the bundled guide pictures (bot.assets)."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from bot import media
from bot.assets import ASSETS_DIR, CATEGORIES, asset_path, serial_asset
from bot.media import ImageProblem, ImageRejected, ImageRules, MediaStore, normalize_image, thumbnail


def make(fmt: str, size: tuple[int, int] = (400, 300), mode: str = "RGB", color=(200, 30, 30), **kw) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **kw)
    return out.getvalue()


def noisy_jpeg(size: tuple[int, int] = (400, 400)) -> bytes:
    """A JPEG with real entropy, so that cutting it in half leaves a header but no full scan."""
    rnd = random.Random(1)
    img = Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims huge dimensions (classic decompression-bomb probe)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def problem_of(data: bytes, rules: ImageRules = ImageRules()) -> ImageProblem:
    with pytest.raises(ImageRejected) as exc_info:
        normalize_image(data, rules)
    return exc_info.value.problem


# ---------------------------------------------------------------- accepted input

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF"])
def test_supported_formats_become_jpeg(fmt: str) -> None:
    jpeg, w, h, original = normalize_image(make(fmt))
    assert original == fmt
    assert (w, h) == (400, 300)
    out = Image.open(io.BytesIO(jpeg))
    assert out.format == "JPEG" and out.mode == "RGB" and out.size == (400, 300)


def test_transparency_is_flattened_on_white() -> None:
    jpeg, *_ = normalize_image(make("PNG", mode="RGBA", color=(0, 0, 0, 0)))
    r, g, b = Image.open(io.BytesIO(jpeg)).getpixel((200, 150))
    assert min(r, g, b) > 245


def test_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (300, 300), c) for c in ((0, 0, 255), (255, 0, 0))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    jpeg, *_ = normalize_image(out.getvalue())
    r, g, b = Image.open(io.BytesIO(jpeg)).getpixel((150, 150))
    assert b > 200 and r < 60


def test_wide_image_is_downscaled_keeping_aspect() -> None:
    jpeg, w, h, _ = normalize_image(make("JPEG", size=(4000, 1000)))
    assert (w, h) == (1600, 400)
    assert Image.open(io.BytesIO(jpeg)).size == (1600, 400)


def test_exif_orientation_applied_and_metadata_dropped() -> None:
    img = Image.new("RGB", (600, 300), "white")
    img.paste((255, 0, 0), (0, 0, 100, 300))  # red strip on the stored left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the left edge ends up on top
    exif[0x010F] = "SecretPhoneMaker"
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes(), comment=b"gps-ish secret")
    jpeg, w, h, _ = normalize_image(out.getvalue())
    assert (w, h) == (300, 600)
    result = Image.open(io.BytesIO(jpeg))
    assert not dict(result.getexif())
    assert not {"exif", "comment", "icc_profile"} & set(result.info)
    assert b"Secret" not in jpeg and b"secret" not in jpeg
    r, g, b = result.getpixel((150, 20))
    assert r > 200 and g < 60 and b < 60


def test_normalization_is_deterministic() -> None:
    data = make("PNG")
    assert normalize_image(data)[0] == normalize_image(data)[0]


# ---------------------------------------------------------------- refused input

@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "TIFF"])
def test_other_formats_refused_even_if_named_jpg(fmt: str, tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(make(fmt))
    assert problem_of(fake.read_bytes()) is ImageProblem.UNSUPPORTED_FORMAT


@pytest.mark.parametrize("data", [random.Random(0).randbytes(5000), b"", b"%PDF-1.4 not a picture"])
def test_garbage_is_not_an_image(data: bytes) -> None:
    assert problem_of(data) is ImageProblem.NOT_AN_IMAGE


def test_truncated_jpeg_is_broken() -> None:
    data = noisy_jpeg()
    assert problem_of(data[: len(data) // 2]) is ImageProblem.BROKEN


@pytest.mark.parametrize("size", [(100, 100), (1000, 150)])
def test_small_images_refused(size: tuple[int, int]) -> None:
    assert problem_of(make("PNG", size=size)) is ImageProblem.TOO_SMALL


def test_too_big_checked_before_decoding() -> None:
    rules = ImageRules(max_bytes=1000)
    assert problem_of(make("PNG", size=(300, 300), mode="RGB") + b"\0" * 1000, rules) is ImageProblem.TOO_BIG
    assert problem_of(random.Random(0).randbytes(1001), rules) is ImageProblem.TOO_BIG  # not NOT_AN_IMAGE
    assert normalize_image(make("GIF", size=(200, 200)), ImageRules(max_bytes=10_000))[3] == "GIF"


def test_huge_declared_dimensions_are_a_bomb() -> None:
    assert problem_of(png_header_only(30000, 30000)) is ImageProblem.BOMB


def test_bomb_check_does_not_rely_on_pillow_global(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert problem_of(png_header_only(30000, 30000)) is ImageProblem.BOMB
    assert problem_of(make("PNG", size=(500, 500)), ImageRules(max_pixels=100_000)) is ImageProblem.BOMB


def test_pillow_bomb_warning_becomes_rejection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 150_000)  # 400x400 only *warns* in Pillow
    assert problem_of(make("PNG", size=(400, 400))) is ImageProblem.BOMB


def test_rejection_carries_problem_and_detail() -> None:
    with pytest.raises(ImageRejected) as exc_info:
        normalize_image(make("BMP"))
    assert exc_info.value.problem == "unsupported_format"
    assert "BMP" in exc_info.value.detail


# ---------------------------------------------------------------- storage

def test_save_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    data = make("PNG", size=(500, 400))
    first = store.save(data)
    second = store.save(data)
    assert first == second
    assert first.relative_path == f"{first.sha256[:2]}/{first.sha256[2:4]}/{first.sha256}.jpg"
    assert (first.width, first.height, first.original_format) == (500, 400, "PNG")
    stored = store.read(first.relative_path)
    assert hashlib.sha256(stored).hexdigest() == first.sha256 and len(stored) == first.size
    assert store.path(first.relative_path) == tmp_path / first.relative_path
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [tmp_path / first.relative_path]


def test_save_existing_file_is_not_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MediaStore(tmp_path)
    data = make("JPEG")
    store.save(data)

    def fail(*args: object) -> None:
        raise AssertionError("rewrote an existing file")

    monkeypatch.setattr(media.os, "replace", fail)
    store.save(data)


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MediaStore(tmp_path)
    seen: list[tuple[str, str]] = []

    def crash(src: str, dst: object) -> None:
        seen.append((str(Path(src).parent), str(Path(str(dst)).parent)))
        assert Path(src).read_bytes()[:2] == b"\xff\xd8"  # complete JPEG written before the rename
        raise OSError("disk gone")

    monkeypatch.setattr(media.os, "replace", crash)
    with pytest.raises(OSError):
        store.save(make("PNG"))
    assert seen and seen[0][0] == seen[0][1]  # temp file lives next to the target
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # no partial or temp file left


def test_save_refuses_bad_image(tmp_path: Path) -> None:
    with pytest.raises(ImageRejected):
        MediaStore(tmp_path).save(b"nope")
    assert not any(tmp_path.iterdir())


def test_delete_and_path_safety(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    saved = store.save(make("GIF"))
    store.delete(saved.relative_path)
    assert not store.path(saved.relative_path).exists()
    store.delete(saved.relative_path)  # already gone: fine
    for bad in ("../escape.jpg", "/etc/passwd", "ab/../../x.jpg", ""):
        with pytest.raises(ValueError):
            store.path(bad)


def test_thumbnail() -> None:
    thumb = Image.open(io.BytesIO(thumbnail(make("PNG", size=(1000, 500)))))
    assert thumb.format == "JPEG" and thumb.size == (320, 160)
    small = Image.open(io.BytesIO(thumbnail(make("JPEG", size=(100, 60)))))
    assert small.size == (100, 60)


# ---------------------------------------------------------------- assets

ASSET_NAMES = [f"serial_{c}.png" for c in CATEGORIES] + [
    "chk_example.png", "sn_photo_example.png", "invoice_example.png",
]


@pytest.mark.parametrize("name", ASSET_NAMES)
def test_asset_exists_and_opens(name: str) -> None:
    path = asset_path(name)
    assert path.parent == ASSETS_DIR and path.stat().st_size < 60 * 1024
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == (800, 500)
        img.load()


def test_asset_helpers() -> None:
    assert len(CATEGORIES) == 10
    assert serial_asset("laptop") == ASSETS_DIR / "serial_laptop.png"
    for bad in ("../media.py", "", ".hidden"):
        with pytest.raises(ValueError):
            asset_path(bad)
    with pytest.raises(FileNotFoundError):
        asset_path("missing.png")
