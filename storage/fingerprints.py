"""Photo fingerprints: the same invoice or S/N photo sent again by another account, or for another product.

Two signals per stored photo:

* **exact**: the sha256 of the normalized JPEG (storage.media stores photos by that hash, so a
  re-sent identical file hashes the same);
* **near copy**: a 64-bit perceptual hash (`perceptual_hash`) that survives JPEG
  re-encoding, resizing and small crops, compared by Hamming distance.

The hash (pure Pillow, no numpy): decode small (JPEG draft), grey, cut away the uniform
border around the content (so cropping a margin or some background away changes nothing),
shrink to 32x32, take the 2-D DCT's 64 lowest frequencies (the 8x8 corner without the DC term,
plus (8, 0)), and set a bit for each coefficient above their median. ~3 ms for a normalized
1600 px JPEG (a PNG of that size ~20 ms: no draft decoding).

Measured on generated invoices (tests/test_fingerprints.py), in bits of 64:
re-encoding at quality 30-85: 0-2; resizing to 30-70%: 0-6; crops of 3-5% that take away
margin or background (the usual case: a photo or scan of a page): 0-2; invoices of
different layouts: 30+ apart. Limits, by design of any perceptual hash:
* a crop that cuts into the content itself shifts what is hashed: on pages filled to their
  edges, 3% off one or two sides moved the hash 0-16 bits (median ~6): 56% of such copies
  were within the default max_distance of 6, 86% within 11 (the widest `find_duplicates`
  supports);
* it sees the layout, not the words: two *different* invoices printed from the same store
  template with about the same number of lines can hash within a few bits. The card must
  show a near hit as "looks like", with both photos, never as proof; the exact sha256 hit
  is the strong signal.

Lookup with 100,000+ stored hashes (multi-index hashing): the hash is cut into four 16-bit
bands, each in an indexed column. If two hashes differ in at most d bits, then by pigeonhole
some band differs in at most floor(d / 4) bits. So `find_duplicates` asks, per band, for the
band values within r = floor(max_distance / 4) bits of the query's band (r = 0: 1 value,
r = 1: 17 values, r = 2: 137 values), as indexed `IN` lists, and computes the exact Hamming
distance of the few candidates in Python. The scheme finds every stored hash within
`max_distance` (no false negatives) for max_distance <= 11; the default 6 uses r = 1
(4 x 17 = 68 indexed values; with uniformly spread hashes about 68 * n / 65536 candidate
rows, ~100 for n = 100,000). See bench/duplicate_photos.py for the timings.
"""

from __future__ import annotations

import io
import math
import operator
import warnings
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from PIL import Image, ImageFilter
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ImageFingerprint

__all__ = [
    "DuplicateHit",
    "KINDS",
    "MAX_SUPPORTED_DISTANCE",
    "bands",
    "find_duplicates",
    "hamming",
    "perceptual_hash",
    "record",
    "to_signed",
]

KINDS = ("invoice", "sn_photo")
BAND_BITS = 16
BAND_COUNT = 4
MAX_SUPPORTED_DISTANCE = BAND_COUNT * 3 - 1  # floor(d / 4) <= 2 keeps the IN lists short (137 values)
MAX_PIXELS = 40_000_000  # as storage.media.ImageRules: never decode a bomb, even when called directly

_SIZE = 32  # the grid the DCT runs on
_DECODE_SIZE = 256  # decode (JPEG draft) and trim at about this size; cheap and plenty for 32x32
_TRIM_TOLERANCE = 40  # grey levels a pixel must differ from the border's to count as content
_TRIM_MIN_FRACTION = 0.3  # a "content box" smaller than this is probably noise: keep the frame
# The 64 coefficients (u = horizontal, v = vertical frequency): the 8x8 low corner without DC,
# whose value only says how dark the image is, plus (8, 0) to make 64.
_COEFFS: tuple[tuple[int, int], ...] = tuple(
    [(u, v) for v in range(8) for u in range(8) if (u, v) != (0, 0)] + [(8, 0)]
)
_MAX_FREQ = max(max(u, v) for u, v in _COEFFS) + 1
_COS: tuple[tuple[float, ...], ...] = tuple(
    tuple(math.cos(math.pi * (2 * x + 1) * u / (2 * _SIZE)) for x in range(_SIZE)) for u in range(_MAX_FREQ)
)
_MASK64 = (1 << 64) - 1


# ------------------------------------------------------------------ hashing


def _load_grey(image_bytes: bytes) -> Image.Image:
    """Decode small and grey; raises ValueError for anything that is not a sane image."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img: Image.Image = Image.open(io.BytesIO(image_bytes))
            if img.width * img.height > MAX_PIXELS:
                raise ValueError(f"image too large: {img.width}x{img.height}")
            if img.format == "JPEG":
                img.draft("L", (_DECODE_SIZE, _DECODE_SIZE))  # libjpeg scales while decoding
            img.load()
        except ValueError:
            raise
        except Exception as exc:  # Pillow raises many types for truncated or foreign data
            raise ValueError(f"not a readable image: {exc!r}") from exc
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, "white")
        img = Image.alpha_composite(flat, rgba)
    grey = img.convert("L")
    if max(grey.size) > 2 * _DECODE_SIZE:
        grey.thumbnail((_DECODE_SIZE * 2, _DECODE_SIZE * 2), Image.Resampling.BOX)
    return grey


def _trim(grey: Image.Image) -> Image.Image:
    """The box around the content: whatever differs from the median colour of the border."""
    w, h = grey.size
    if w < 8 or h < 8:
        return grey
    edges = (grey.crop((0, 0, w, 1)), grey.crop((0, h - 1, w, h)), grey.crop((0, 0, 1, h)), grey.crop((w - 1, 0, w, h)))
    border = sorted(b for edge in edges for b in edge.tobytes())
    background = border[len(border) // 2]
    lut = [255 if abs(v - background) > _TRIM_TOLERANCE else 0 for v in range(256)]
    box = grey.filter(ImageFilter.BoxBlur(1)).point(lut).getbbox()  # the blur ignores lone noisy pixels
    if box is None:
        return grey
    left, top, right, bottom = box
    if right - left < w * _TRIM_MIN_FRACTION or bottom - top < h * _TRIM_MIN_FRACTION:
        return grey
    return grey.crop(box)


def perceptual_hash(image_bytes: bytes) -> int:
    """64-bit DCT hash of a photo, as a signed 64-bit int (fits BIGINT). Raises ValueError.

    Meant for the normalized JPEG (storage.media.normalize_image) but takes any Pillow image.
    """
    grey = _trim(_load_grey(image_bytes)).resize((_SIZE, _SIZE), Image.Resampling.BOX)
    pixels = grey.tobytes()
    rows = [pixels[y * _SIZE : (y + 1) * _SIZE] for y in range(_SIZE)]
    # Separable DCT-II, only the frequencies we keep: rows first, then columns.
    by_row = [[sum(map(operator.mul, _COS[u], row)) for u in range(_MAX_FREQ)] for row in rows]
    columns = list(zip(*by_row, strict=True))  # columns[u][y]: row y's coefficient for horizontal frequency u
    coeffs = [sum(map(operator.mul, _COS[v], columns[u])) for u, v in _COEFFS]
    median = sorted(coeffs)[len(coeffs) // 2]
    value = 0
    for bit, c in enumerate(coeffs):
        if c > median:
            value |= 1 << bit
    return to_signed(value)


def to_signed(value: int) -> int:
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes (signed or unsigned)."""
    return ((a ^ b) & _MASK64).bit_count()


def bands(phash: int) -> tuple[int, int, int, int]:
    """The four 16-bit slices of a hash, low bits first: band0..band3."""
    u = phash & _MASK64
    mask = (1 << BAND_BITS) - 1
    return (u & mask, (u >> BAND_BITS) & mask, (u >> 2 * BAND_BITS) & mask, (u >> 3 * BAND_BITS) & mask)


def _within(value: int, radius: int) -> list[int]:
    """Every 16-bit value at most `radius` bits away from `value` (value itself first)."""
    out = [value]
    for r in range(1, radius + 1):
        for bits in combinations(range(BAND_BITS), r):
            flipped = value
            for b in bits:
                flipped ^= 1 << b
            out.append(flipped)
    return out


# ------------------------------------------------------------------ storage


@dataclass(frozen=True)
class DuplicateHit:
    fingerprint: ImageFingerprint
    exact: bool  # same sha256: the very same normalized file
    distance: int  # Hamming distance of the perceptual hashes (0..64)


async def record(
    session: AsyncSession,
    *,
    sha256: str,
    phash: int,
    member_id: int,
    kind: str,
    registered_product_id: int | None,
    claim_id: int | None,
    path: str | None,
    now: datetime,
) -> ImageFingerprint:
    """Stores one photo's fingerprint (flushes, does not commit)."""
    if kind not in KINDS:
        raise ValueError(f"unknown fingerprint kind {kind!r}")
    phash = to_signed(phash)
    b0, b1, b2, b3 = bands(phash)
    row = ImageFingerprint(
        sha256=sha256,
        phash=phash,
        band0=b0,
        band1=b1,
        band2=b2,
        band3=b3,
        member_id=member_id,
        kind=kind,
        registered_product_id=registered_product_id,
        claim_id=claim_id,
        path=path,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


CANDIDATES_PER_LIMIT = 4  # candidates read per hit asked for: enough to rank the closest among them
MIN_CANDIDATES = 200


async def find_duplicates(
    session: AsyncSession,
    *,
    sha256: str,
    phash: int,
    member_id: int,
    registered_product_id: int | None,
    max_distance: int = 6,
    limit: int = 50,
) -> list[DuplicateHit]:
    """Stored photos equal to (sha256) or near (Hamming <= max_distance) this one, used by
    another member, or by the same member for another product.

    Same member and same product is the customer re-sending their own photo (a redeem-again,
    a second claim for the same product): not a hit. With `registered_product_id=None` (the
    product does not exist yet, e.g. during registration) the member's own photos of any
    product are hits: one invoice for two products is worth a look, not a refusal.
    Best first: exact hits, then by distance, then the oldest (the original) first; at most `limit`.
    """
    if not 0 <= max_distance <= MAX_SUPPORTED_DISTANCE:
        raise ValueError(f"max_distance must be within 0..{MAX_SUPPORTED_DISTANCE}")
    phash = to_signed(phash)
    radius = max_distance // BAND_COUNT
    columns = (ImageFingerprint.band0, ImageFingerprint.band1, ImageFingerprint.band2, ImageFingerprint.band3)
    near = [column.in_(_within(value, radius)) for column, value in zip(columns, bands(phash), strict=True)]
    others = or_(
        ImageFingerprint.member_id != member_id,
        ImageFingerprint.registered_product_id.is_distinct_from(registered_product_id),
    )
    # Candidates as plain tuples (about a hundred at 100,000 rows); whole rows only for the hits.
    # Capped, exact copies first, then the oldest: invoices printed from one template all hash
    # alike, and without a cap each new one would be compared with every earlier one (a cost
    # growing with the claims; bench/cpu.py's template invoices showed it).
    query = (
        select(ImageFingerprint.id, ImageFingerprint.sha256, ImageFingerprint.phash)
        .where(or_(ImageFingerprint.sha256 == sha256, *near), others)
        .order_by(ImageFingerprint.sha256 != sha256, ImageFingerprint.id)
        .limit(max(CANDIDATES_PER_LIMIT * limit, MIN_CANDIDATES))
    )
    matched: dict[int, tuple[bool, int]] = {}
    for row_id, row_sha, row_phash in (await session.execute(query)).all():
        exact = row_sha == sha256
        distance = hamming(row_phash, phash)
        if exact or distance <= max_distance:
            matched[row_id] = (exact, distance)
    best = sorted(matched, key=lambda i: (not matched[i][0], matched[i][1], i))[:limit]  # ids grow with time
    if not best:
        return []
    rows = (await session.scalars(select(ImageFingerprint).where(ImageFingerprint.id.in_(best)))).all()
    hits = [DuplicateHit(row, *matched[row.id]) for row in rows]
    hits.sort(key=lambda h: (not h.exact, h.distance, h.fingerprint.id))
    return hits
