"""Read a serial number from the barcode on an S/N label photo (zxing-cpp, from PyPI).

`read_serials` decodes every barcode in a photo (Code 128, Code 39/93, QR, DataMatrix, ...;
zxing-cpp itself searches 90/180/270 degrees, inverted codes and downscaled copies) and keeps
the texts that look like a serial: 8-20 letters or digits after the usual clean-up (GS1
labels: the serial field, AI 21; a QR payload like "SN:...;CHK:...": the serial-like field;
product codes such as EAN-13/UPC are dropped, they name the model, not the unit). When the
photo as sent gives nothing, it tries a few cheap variants, stopping at the first that reads:

1. grey + autocontrast (dim or low-contrast photos);
2. small photos (longest side < 1000 px) upscaled x2 and sharpened: thin bars of a label
   photographed from afar are too narrow for the decoder;
3. turned by +-20 and +-40 degrees: zxing-cpp's own rotation covers the 90-degree family
   and a tilt of roughly +-15 degrees for a typical 1-D code, so these four fill the gaps.

Never raises on bad input: a broken, foreign or oversized image gives []. Pillow limits are
those of storage.media (bytes, pixels, formats), checked before any pixel is decoded. CPU-bound
(5-60 ms per attempt; a 1600x1200 photo without a readable code goes through all 7 in
~0.45 s): call it from a worker thread (`asyncio.to_thread`). No Telegram imports; `compare` gives the staff card's
verdict.
"""

from __future__ import annotations

import enum
import io
import logging
import re
import warnings
from collections.abc import Iterator, Sequence

import zxingcpp
from PIL import Image, ImageFilter, ImageOps

from storage.catalogue import clean_serial
from storage.media import ImageRules

__all__ = ["LabelMatch", "compare", "read_serials"]

log = logging.getLogger(__name__)

SERIAL_SHAPE = re.compile(r"[A-Z0-9]{8,20}")
_FIELD_SPLIT = re.compile(r"[^\w\-\u2010-\u2015\u2212]+|_")  # dashes stay inside a field: clean_serial drops them
_GS1_FIELD = re.compile(r"\((\d{2,4})\)([^()]*)")
_GS1_SERIAL_AI = "21"  # GS1 application identifier "serial number"
_MAX_SIDE = 2400  # decode larger photos at this size: more is slower and no more readable
_SMALL_SIDE = 1000  # below this (longest side) a x2 upscale is worth a try
_TURNS = (20, -20, 40, -40)
_RULES = ImageRules()

# Product codes (GTIN), never serials: a label's EAN must not read as a "mismatching serial".
# Compared as enum members: str() of a format differs between zxing-cpp 2.x and 3.x.
_PRODUCT_CODE_FORMATS: frozenset[object] = frozenset(
    getattr(zxingcpp.BarcodeFormat, name)
    for name in ("EAN13", "EAN8", "UPCA", "UPCE", "ITF14", "ISBN", "DataBar")
    if hasattr(zxingcpp.BarcodeFormat, name)
)


class LabelMatch(enum.StrEnum):
    """The S/N photo's barcode against the registered serial; values double as locale-key suffixes."""

    MATCH = "match"
    MISMATCH = "mismatch"
    NO_BARCODE = "no_barcode"


def compare(label_serials: list[str], registered_serial: str) -> LabelMatch:
    """MATCH when any serial read from the label is the registered one (case, spaces and dashes
    ignored), MISMATCH when the label has serial-like codes but not this one, else NO_BARCODE."""
    if not label_serials:
        return LabelMatch.NO_BARCODE
    wanted = clean_serial(registered_serial).upper()
    if any(clean_serial(s).upper() == wanted for s in label_serials):
        return LabelMatch.MATCH
    return LabelMatch.MISMATCH


def read_serials(data: bytes) -> list[str]:
    """Serial-like texts of every barcode in the photo, most likely first, without repeats."""
    try:
        grey = _open_grey(data)
        if grey is None:
            return []
        for variant in _variants(grey):
            found = _serials_in(zxingcpp.read_barcodes(variant))
            if found:
                return found
    except Exception:  # a decoder or Pillow surprise must not break the conversation
        log.warning("barcode reading failed", exc_info=True)
    return []


def _open_grey(data: bytes) -> Image.Image | None:
    """Decode within storage.media's limits (checked before pixels are decoded); None if refused."""
    if not data or len(data) > _RULES.max_bytes:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img: Image.Image = Image.open(io.BytesIO(data))
            if img.format not in _RULES.formats or img.width * img.height > _RULES.max_pixels:
                return None
            if img.format == "JPEG":
                img.draft("L", (_MAX_SIDE, _MAX_SIDE))  # libjpeg scales down while decoding
            img.load()
            try:
                img = ImageOps.exif_transpose(img) or img
            except Exception:  # malformed EXIF: read the pixels as they are
                pass
            if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            grey = img.convert("L")
        except Exception:
            return None
    if max(grey.size) > _MAX_SIDE:
        grey.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.LANCZOS)
    return grey


def _variants(grey: Image.Image) -> Iterator[Image.Image]:
    yield grey
    contrast = ImageOps.autocontrast(grey, cutoff=1)
    yield contrast
    if max(grey.size) < _SMALL_SIDE:
        big = contrast.resize((grey.width * 2, grey.height * 2), Image.Resampling.BICUBIC)
        yield big.filter(ImageFilter.UnsharpMask(radius=3, percent=250, threshold=0))
    # Fill with the median grey of the photo, so the new corners add no edges of their own.
    fill = int(sorted(contrast.resize((16, 16)).tobytes())[128])
    for angle in _TURNS:
        yield contrast.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


def _candidates(barcode: object) -> Iterator[tuple[int, str]]:
    """(rank, serial) pairs from one decoded barcode; lower rank = more likely the serial."""
    text = str(getattr(barcode, "text", "") or "")
    if getattr(barcode, "format", None) in _PRODUCT_CODE_FORMATS:
        return
    gs1 = _GS1_FIELD.findall(text) if text.startswith("(") else []
    if gs1:  # GS1 label, e.g. "(01)04712345678906(21)BA9H040230046": AI 21 is the serial
        for ai, value in gs1:
            if ai == _GS1_SERIAL_AI:
                yield 0, value
        return
    whole = clean_serial(text).upper()
    if SERIAL_SHAPE.fullmatch(whole):
        yield 1, whole
        return
    # "S/N: BA9H040230046" or "SN=...;CHK=..." in a QR code: the serial is one of the fields.
    for field in _FIELD_SPLIT.split(text):
        token = clean_serial(field).upper()
        if any(ch.isdigit() for ch in token):
            yield 2, token


def _serials_in(barcodes: Sequence[object]) -> list[str]:
    ranked: dict[str, tuple[int, int]] = {}
    order = 0
    for barcode in barcodes:
        for rank, value in _candidates(barcode):
            value = value.strip().upper()
            if not SERIAL_SHAPE.fullmatch(value):
                continue
            order += 1
            if value not in ranked or (rank, order) < ranked[value]:
                ranked[value] = (rank, order)
    return sorted(ranked, key=ranked.__getitem__)
