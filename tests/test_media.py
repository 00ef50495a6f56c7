"""Image intake rules (storage.media) and the bundled guide pictures (bot.assets)."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from bot.assets import ASSETS_DIR, CATEGORIES, asset_path, serial_asset
from storage import media
from storage.media import ImageProblem, ImageRejected, ImageRules, MediaStore, normalize_image, thumbnail


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


RULES = ImageRules()


def problem_of(data: bytes, rules: ImageRules = RULES) -> ImageProblem:
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


def png16(
    width: int,
    height: int,
    colour_type: int,
    sample: tuple[int, ...],
    trns: tuple[int, ...] | None = None,
    left: tuple[int, ...] | None = None,
) -> bytes:
    """A 16-bit PNG (grey 0, RGB 2, grey+alpha 4, RGBA 6) filled with `sample`; its left half is
    `left` when given, and `trns` is the tRNS colour key. Pillow cannot write most of these."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    def pixels(values: tuple[int, ...], count: int) -> bytes:
        return struct.pack(f">{len(values)}H", *values) * count

    half = width // 2
    row = b"\0" + (pixels(left, half) + pixels(sample, width - half) if left else pixels(sample, width))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    extra = chunk(b"tRNS", struct.pack(f">{len(trns)}H", *trns)) if trns else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + extra
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def stored_pixels(data: bytes, *points: tuple[int, int]) -> list[tuple[int, int, int]]:
    jpeg, *_ = normalize_image(data)
    out = Image.open(io.BytesIO(jpeg))
    assert out.mode == "RGB"
    return [out.getpixel(point) for point in points]  # type: ignore[misc]


def near(actual: tuple[int, int, int], expected: tuple[int, int, int], slack: int = 3) -> bool:
    """JPEG is lossy: a flat colour comes back within a few levels."""
    return all(abs(a - e) <= slack for a, e in zip(actual, expected, strict=True))


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    """I;16: dark grey, mid grey and black keep their shade in the stored file (they were all white)."""
    row = b"".join(struct.pack("<H", value) * 200 for value in (0x2000, 0x8000, 0))
    ramp = Image.frombytes("I;16", (600, 300), row * 300)
    out = io.BytesIO()
    ramp.save(out, "PNG")
    assert Image.open(io.BytesIO(out.getvalue())).mode == "I;16"
    store = MediaStore(tmp_path)
    stored = Image.open(store.path(store.save(out.getvalue()).relative_path))
    dark, mid, black = (stored.getpixel((x, 150)) for x in (100, 300, 500))
    assert near(dark, (32, 32, 32)) and near(mid, (128, 128, 128)) and near(black, (0, 0, 0))  # type: ignore[arg-type]


def test_16_bit_colour_png_keeps_its_colour() -> None:
    [pixel] = stored_pixels(png16(300, 300, 2, (0x8000, 0x4000, 0xC000)), (150, 150))
    assert near(pixel, (128, 64, 192))


def test_16_bit_colour_key_is_flattened_on_white() -> None:
    """tRNS in a 16-bit RGB PNG: the key colour (left half) becomes white, the rest keeps its colour.
    (The key's low bytes differ from its high bytes, so only a key brought to 8 bits matches.)"""
    key = (0x2000, 0x6000, 0xA000)
    data = png16(400, 300, 2, (0x8000, 0x4000, 0xC000), trns=key, left=key)
    keyed, kept = stored_pixels(data, (50, 150), (350, 150))
    assert near(keyed, (255, 255, 255)) and near(kept, (128, 64, 192))


def test_16_bit_grey_key_is_flattened_on_white() -> None:
    data = png16(400, 300, 0, (0x8000,), trns=(0x1000,), left=(0x1000,))
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    keyed, kept = stored_pixels(data, (50, 150), (350, 150))
    assert near(keyed, (255, 255, 255)) and near(kept, (128, 128, 128))


@pytest.mark.parametrize(
    ("colour_type", "sample", "expected"),
    [
        (6, (0x0000, 0x0000, 0xFFFF, 0x8000), (127, 127, 255)),  # RGBA: half-transparent blue on white
        (4, (0x0000, 0x8000), (127, 127, 127)),  # grey + alpha: half-transparent black on white
        (6, (0xFFFF, 0x0000, 0x0000, 0xFFFF), (255, 0, 0)),  # opaque red stays red
    ],
)
def test_16_bit_alpha_is_composited_on_white(
    colour_type: int, sample: tuple[int, ...], expected: tuple[int, int, int]
) -> None:
    [pixel] = stored_pixels(png16(300, 300, colour_type, sample), (150, 150))
    assert near(pixel, expected)


@pytest.mark.parametrize(("mode", "value"), [("I", 0x8000), ("F", 32768.0), ("I;16B", 0x8000)])
def test_wide_grey_modes_are_scaled(mode: str, value: float) -> None:
    """Other decoders hand 16-bit grey over as I or F; the same scaling applies."""
    rgb = media._to_rgb(Image.new(mode, (50, 50), value))  # type: ignore[arg-type]
    assert rgb.mode == "RGB" and rgb.getpixel((25, 25)) == (128, 128, 128)


def test_8_bit_transparency_is_flattened_on_white() -> None:
    """A grey colour key, a palette with a transparent entry and LA: transparent is white, the rest keeps its shade."""
    grey = Image.new("L", (400, 300), 100)
    grey.paste(7, (0, 0, 200, 300))
    keyed = io.BytesIO()
    grey.save(keyed, "PNG", transparency=7)
    palette = Image.new("P", (400, 300), 1)
    palette.putpalette([0, 0, 0, 200, 30, 30] + [0, 0, 0] * 254)
    palette.paste(0, (0, 0, 200, 300))
    paletted = io.BytesIO()
    palette.save(paletted, "PNG", transparency=0)
    la = Image.merge("LA", (Image.new("L", (400, 300), 0), Image.new("L", (400, 300), 128)))
    half = io.BytesIO()
    la.save(half, "PNG")
    left, right = stored_pixels(keyed.getvalue(), (50, 150), (350, 150))
    assert near(left, (255, 255, 255)) and near(right, (100, 100, 100))
    left, right = stored_pixels(paletted.getvalue(), (50, 150), (350, 150))
    assert near(left, (255, 255, 255)) and near(right, (200, 30, 30))
    [pixel] = stored_pixels(half.getvalue(), (200, 150))
    assert near(pixel, (127, 127, 127))


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
    "chk_example.png",
    "sn_photo_example.png",
    "invoice_example.png",
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


def test_big_turned_jpeg_is_decoded_small_and_comes_out_upright() -> None:
    """A 4000x3000 phone photo stored sideways (EXIF 6): drafted on the side that becomes the
    width, shrunk once to 1600 px wide, then turned; the strip on the stored left is on top."""
    img = Image.new("RGB", (4000, 3000), "white")
    img.paste((255, 0, 0), (0, 0, 400, 3000))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    jpeg, w, h, _ = normalize_image(out.getvalue())
    assert (w, h) == (1600, 2133)
    result = Image.open(io.BytesIO(jpeg))
    assert result.size == (1600, 2133) and not dict(result.getexif())
    r, g, b = result.getpixel((800, 40))
    assert r > 200 and g < 60 and b < 60
    r, g, b = result.getpixel((800, 2000))
    assert min(r, g, b) > 240
