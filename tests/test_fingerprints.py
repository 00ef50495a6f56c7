"""Duplicate photos: perceptual hashes of generated invoices, and the indexed look-up (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import io
import random
import time
from datetime import UTC, date, datetime

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import fingerprints
from storage.db import SessionFactory, unit_of_work
from storage.fingerprints import MAX_SUPPORTED_DISTANCE, bands, find_duplicates, hamming, perceptual_hash, record
from storage.models import CatalogueProduct, ImageFingerprint, RegisteredProduct
from tests.factories import make_member

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ITEMS = [
    "PRO MP241 Monitor",
    "HDMI cable 2 m",
    "Clutch GM41 mouse",
    "Katana GF66 laptop",
    "MAG 274QRF",
    "Extended warranty",
]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def invoice(seed: int, store: str, layout: int) -> Image.Image:
    """An A4-ish invoice page: two quite different layouts, the text drawn from `seed`."""
    r = random.Random(seed)
    width, height = 1200, 1600
    page = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(page)
    if layout == 0:  # logo block on the left, items table, total at the bottom right
        d.rectangle((60, 60, 380, 200), fill=(30, 60, 160))
        d.text((80, 100), store, fill="white", font=_font(48))
        d.text((800, 80), "INVOICE", fill="black", font=_font(56))
        d.text((800, 160), f"No. INV-{r.randint(10000, 99999)}", fill="black", font=_font(32))
        y = 320
        d.line((60, y - 10, width - 60, y - 10), fill="black", width=3)
        for _ in range(r.randint(6, 12)):
            d.text((80, y), r.choice(ITEMS), fill="black", font=_font(30))
            d.text((width - 300, y), f"{r.randint(5, 999)}.{r.randint(0, 99):02d}", fill="black", font=_font(30))
            y += 60
        d.line((60, y, width - 60, y), fill="black", width=3)
        d.text((width - 440, y + 30), f"TOTAL {r.randint(100, 3000)}.00", fill="black", font=_font(40))
    else:  # centred shop name, long till-roll list, a boxed payment line, a red stamp
        d.text((width // 2 - 260, 60), store.upper(), fill="black", font=_font(64))
        d.text((width // 2 - 200, 160), "Tax receipt", fill=(90, 90, 90), font=_font(36))
        y = 280
        for _ in range(r.randint(20, 28)):
            d.text((120, y), f"{r.randint(1, 9)} x SKU{r.randint(1000, 9999)}", fill="black", font=_font(24))
            d.text((width - 320, y), f"{r.randint(5, 999)}.{r.randint(0, 99):02d}", fill="black", font=_font(24))
            y += 38
        d.rectangle((100, y + 20, width - 100, y + 140), outline="black", width=4)
        d.text((140, y + 50), f"Paid by card **** {r.randint(1000, 9999)}", fill="black", font=_font(36))
        d.ellipse((width - 380, height - 380, width - 120, height - 120), outline=(200, 0, 0), width=8)
    return page


def on_desk(page: Image.Image) -> Image.Image:
    """The page photographed on a grey desk, a little tilted."""
    desk = Image.new("RGB", (int(page.width * 1.3), int(page.height * 1.2)), (128, 124, 118)).filter(
        ImageFilter.GaussianBlur(2)
    )
    tilted = page.rotate(1.5, expand=True, fillcolor=(128, 124, 118), resample=Image.Resampling.BICUBIC)
    desk.paste(tilted, (int(page.width * 0.15), int(page.height * 0.1)))
    return desk


def jpeg(img: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def crop(img: Image.Image, left: float = 0, top: float = 0, right: float = 0, bottom: float = 0) -> Image.Image:
    w, h = img.size
    return img.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))


def resize(img: Image.Image, factor: float) -> Image.Image:
    return img.resize((round(img.width * factor), round(img.height * factor)), Image.Resampling.LANCZOS)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ the hash


def near_copies(img: Image.Image) -> dict[str, bytes]:
    return {
        "quality 60": jpeg(img, 60),
        "quality 30": jpeg(img, 30),
        "resized to 70%": jpeg(resize(img, 0.7)),
        "resized to 40%, quality 70": jpeg(resize(img, 0.4), 70),
        "cropped 3% all round": jpeg(crop(img, 0.015, 0.015, 0.015, 0.015)),
        "cropped 3% left": jpeg(crop(img, left=0.03)),
        "cropped 3% top and left": jpeg(crop(img, left=0.03, top=0.03)),
        "cropped 3% bottom and right": jpeg(crop(img, right=0.03, bottom=0.03)),
        "cropped 3%, resized to 70%, quality 60": jpeg(resize(crop(img, left=0.03, top=0.03), 0.7), 60),
        "as PNG": (lambda b: (img.save(b, "PNG"), b.getvalue())[1])(io.BytesIO()),
    }


@pytest.mark.parametrize("framing", ["scan", "photo"])
def test_near_copies_stay_within_the_default_distance(framing: str) -> None:
    for seed, layout in ((1, 0), (2, 1)):
        page = invoice(seed, "Challenger", layout)
        original = on_desk(page) if framing == "photo" else page
        h = perceptual_hash(jpeg(original, 85))
        distances = {name: hamming(h, perceptual_hash(data)) for name, data in near_copies(original).items()}
        assert max(distances.values()) <= 6, distances


def test_five_percent_crop() -> None:
    """5% off the photo (background) changes nothing; 5% off a scan whose content starts 4% in
    cuts the logo and the title: a few bits more than the default max_distance of 6, still far
    below unrelated invoices (> 20), found with max_distance=11."""
    page = invoice(1, "Challenger", 0)
    photo = on_desk(page)
    assert hamming(perceptual_hash(jpeg(photo)), perceptual_hash(jpeg(crop(photo, left=0.05, top=0.05)))) <= 6
    cut = hamming(perceptual_hash(jpeg(page)), perceptual_hash(jpeg(crop(page, left=0.05, top=0.05))))
    assert cut <= MAX_SUPPORTED_DISTANCE


def test_different_invoices_are_far_apart() -> None:
    a = perceptual_hash(jpeg(invoice(1, "Challenger", 0)))
    b = perceptual_hash(jpeg(invoice(2, "Courts", 1)))
    c = perceptual_hash(jpeg(on_desk(invoice(3, "Harvey Norman", 1))))
    assert hamming(a, b) > 20
    assert hamming(a, c) > 20
    assert min(hamming(x, y) for x, y in ((a, b), (a, c), (b, c))) > 6


def test_hash_is_a_signed_64_bit_int_and_stable() -> None:
    data = jpeg(invoice(4, "Courts", 0))
    h = perceptual_hash(data)
    assert -(2**63) <= h < 2**63
    assert perceptual_hash(data) == h
    assert 20 <= bin(h & (2**64 - 1)).count("1") <= 44  # median split: about half the bits set


def test_hash_is_fast_enough() -> None:
    data = jpeg(invoice(5, "Courts", 1))
    perceptual_hash(data)
    start = time.perf_counter()
    for _ in range(20):
        perceptual_hash(data)
    per_image_ms = (time.perf_counter() - start) / 20 * 1000
    assert per_image_ms < 20, f"{per_image_ms:.1f} ms per image"  # ~3 ms on a 1600 px normalized JPEG


def test_hash_refuses_what_is_not_an_image() -> None:
    with pytest.raises(ValueError):
        perceptual_hash(b"not an image")
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")
    with pytest.raises(ValueError):
        perceptual_hash(bomb.getvalue())


def test_blank_and_transparent_images_hash() -> None:
    perceptual_hash(jpeg(Image.new("RGB", (400, 300), "white")))
    clear = io.BytesIO()
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(clear, "PNG")
    perceptual_hash(clear.getvalue())


def test_hamming_and_bands() -> None:
    assert hamming(0, 0) == 0
    assert hamming(-1, 0) == 64
    assert hamming(-1, 2**64 - 1) == 0  # signed and unsigned spellings of one hash
    assert hamming(0b1011, 0b0001) == 2
    assert bands(0x1234_5678_9ABC_DEF0) == (0xDEF0, 0x9ABC, 0x5678, 0x1234)
    assert bands(-1) == (0xFFFF,) * 4


def test_band_scheme_is_exact_up_to_the_supported_distance() -> None:
    """Pigeonhole: within d bits, some 16-bit band is within d // 4 bits; the IN lists cover that."""
    rng = random.Random(7)
    for distance in range(MAX_SUPPORTED_DISTANCE + 1):
        radius = distance // 4
        for _ in range(300):
            a = rng.getrandbits(64)
            b = a
            for bit in rng.sample(range(64), distance):
                b ^= 1 << bit
            assert hamming(a, b) == distance
            assert any(bb in fingerprints._within(ba, radius) for ba, bb in zip(bands(a), bands(b), strict=True))


# ------------------------------------------------------------------ storage and look-up


async def _product(sessions: SessionFactory, member_id: int, serial: str) -> int:
    async with unit_of_work(sessions) as s:
        catalogue_id = await s.scalar(select(CatalogueProduct.id).where(CatalogueProduct.model == "FP-TEST"))
        if catalogue_id is None:
            item = CatalogueProduct(
                category="monitor", name="PRO MP241", model="FP-TEST", warranty_months=24, chk_mode="list"
            )
            s.add(item)
            await s.flush()
            catalogue_id = item.id
        product = RegisteredProduct(
            member_id=member_id,
            catalogue_product_id=catalogue_id,
            serial=serial,
            purchase_country="SG",
            store_name="Courts",
            purchase_date=date(2026, 3, 1),
            channel="retail",
            registered_at=NOW,
        )
        s.add(product)
        await s.flush()
        return product.id


async def _record(
    session: AsyncSession, data: bytes, member_id: int, product_id: int | None, kind: str = "invoice"
) -> ImageFingerprint:
    return await record(
        session,
        sha256=sha(data),
        phash=perceptual_hash(data),
        member_id=member_id,
        kind=kind,
        registered_product_id=product_id,
        claim_id=None,
        path=f"{sha(data)[:2]}/{sha(data)}.jpg",
        now=NOW,
    )


async def _find(
    session: AsyncSession, data: bytes, member_id: int, product_id: int | None, **kw: int
) -> list[fingerprints.DuplicateHit]:
    return await find_duplicates(
        session,
        sha256=sha(data),
        phash=perceptual_hash(data),
        member_id=member_id,
        registered_product_id=product_id,
        **kw,
    )


@pytest.fixture
async def people(sessions: SessionFactory) -> dict[str, int]:
    alice = await make_member(sessions, 5001)
    bob = await make_member(sessions, 5002)
    return {
        "alice": alice,
        "bob": bob,
        "alice_monitor": await _product(sessions, alice, "BA9H040230046"),
        "alice_laptop": await _product(sessions, alice, "K2001N0000001"),
        "bob_monitor": await _product(sessions, bob, "BA9H040230047"),
    }


async def test_near_copy_from_another_account_is_found(sessions: SessionFactory, people: dict[str, int]) -> None:
    page = invoice(11, "Challenger", 0)
    original = jpeg(page)
    async with unit_of_work(sessions) as s:
        stored = await _record(s, original, people["alice"], people["alice_monitor"])
    for name, copy in near_copies(page).items():
        async with unit_of_work(sessions) as s:
            hits = await _find(s, copy, people["bob"], people["bob_monitor"])
        assert [h.fingerprint.id for h in hits] == [stored.id], name
        assert not hits[0].exact and hits[0].distance <= 6, name
        assert hits[0].fingerprint.member_id == people["alice"]


async def test_exact_copy_is_flagged_as_exact(sessions: SessionFactory, people: dict[str, int]) -> None:
    data = jpeg(on_desk(invoice(12, "Courts", 1)))
    async with unit_of_work(sessions) as s:
        stored = await _record(s, data, people["alice"], people["alice_monitor"], kind="sn_photo")
    async with unit_of_work(sessions) as s:
        hits = await _find(s, data, people["bob"], people["bob_monitor"])
    assert len(hits) == 1
    assert hits[0].exact and hits[0].distance == 0
    assert hits[0].fingerprint.id == stored.id and hits[0].fingerprint.kind == "sn_photo"


async def test_exact_hit_is_found_even_if_the_phash_disagrees(session: AsyncSession, people: dict[str, int]) -> None:
    await record(
        session,
        sha256="a" * 64,
        phash=0,
        member_id=people["alice"],
        kind="invoice",
        registered_product_id=people["alice_monitor"],
        claim_id=None,
        path=None,
        now=NOW,
    )
    hits = await find_duplicates(
        session, sha256="a" * 64, phash=-1, member_id=people["bob"], registered_product_id=None
    )
    assert [(h.exact, h.distance) for h in hits] == [(True, 64)]


async def test_different_invoice_is_not_a_hit(sessions: SessionFactory, people: dict[str, int]) -> None:
    async with unit_of_work(sessions) as s:
        await _record(s, jpeg(invoice(13, "Challenger", 0)), people["alice"], people["alice_monitor"])
    async with unit_of_work(sessions) as s:
        assert await _find(s, jpeg(invoice(14, "Courts", 1)), people["bob"], people["bob_monitor"]) == []
        assert await _find(s, jpeg(on_desk(invoice(15, "Harvey", 1))), people["bob"], people["bob_monitor"]) == []


async def test_same_member_same_product_is_not_a_hit(sessions: SessionFactory, people: dict[str, int]) -> None:
    data = jpeg(invoice(16, "Courts", 0))
    async with unit_of_work(sessions) as s:
        await _record(s, data, people["alice"], people["alice_monitor"])
    async with unit_of_work(sessions) as s:
        # the customer sends the same invoice again for the same product (redeem again): fine
        assert await _find(s, data, people["alice"], people["alice_monitor"]) == []
        assert (
            await _find(s, jpeg(resize(invoice(16, "Courts", 0), 0.7)), people["alice"], people["alice_monitor"]) == []
        )
        # the same invoice for another of her products, or before the product exists: worth a look
        other = await _find(s, data, people["alice"], people["alice_laptop"])
        assert len(other) == 1 and other[0].exact
        assert len(await _find(s, data, people["alice"], None)) == 1
        # and from another account, of course
        assert len(await _find(s, data, people["bob"], people["bob_monitor"])) == 1


async def test_hits_are_ordered_exact_then_nearest(session: AsyncSession, people: dict[str, int]) -> None:
    base = random.Random(3).getrandbits(64)
    for flips, sha_ in ((5, "b" * 64), (2, "c" * 64), (40, "d" * 64), (9, "e" * 64)):
        value = base
        for bit in range(flips):
            value ^= 1 << (bit * 3 % 64)
        await record(
            session,
            sha256=sha_,
            phash=fingerprints.to_signed(value),
            member_id=people["alice"],
            kind="invoice",
            registered_product_id=None,
            claim_id=None,
            path=None,
            now=NOW,
        )
    hits = await find_duplicates(
        session,
        sha256="d" * 64,
        phash=fingerprints.to_signed(base),
        member_id=people["bob"],
        registered_product_id=None,
    )
    assert [(h.fingerprint.sha256[0], h.exact, h.distance) for h in hits] == [
        ("d", True, 40),
        ("c", False, 2),
        ("b", False, 5),
    ]
    wide = await find_duplicates(
        session,
        sha256="f" * 64,
        phash=fingerprints.to_signed(base),
        member_id=people["bob"],
        registered_product_id=None,
        max_distance=MAX_SUPPORTED_DISTANCE,
    )
    assert [h.distance for h in wide] == [2, 5, 9]
    with pytest.raises(ValueError):
        await find_duplicates(
            session,
            sha256="f" * 64,
            phash=0,
            member_id=1,
            registered_product_id=None,
            max_distance=MAX_SUPPORTED_DISTANCE + 1,
        )


async def test_planted_copies_among_many_random_hashes(session: AsyncSession, people: dict[str, int]) -> None:
    """Every stored hash within max_distance is found, whichever bands the differing bits fall in."""
    rng = random.Random(11)
    session.add_all(
        ImageFingerprint(
            sha256=f"{i:064x}",
            phash=(p := fingerprints.to_signed(rng.getrandbits(64))),
            band0=bands(p)[0],
            band1=bands(p)[1],
            band2=bands(p)[2],
            band3=bands(p)[3],
            member_id=people["alice"],
            kind="invoice",
            registered_product_id=None,
            claim_id=None,
            path=None,
            created_at=NOW,
        )
        for i in range(3000)
    )
    query = rng.getrandbits(64)
    planted: dict[int, int] = {}
    for distance in range(0, 9):
        value = query
        for bit in rng.sample(range(64), distance):
            value ^= 1 << bit
        row = await record(
            session,
            sha256=f"planted{distance}".ljust(64, "0"),
            phash=value,
            member_id=people["alice"],
            kind="invoice",
            registered_product_id=None,
            claim_id=None,
            path=None,
            now=NOW,
        )
        planted[row.id] = distance
    hits = await find_duplicates(
        session, sha256="z" * 64, phash=query, member_id=people["bob"], registered_product_id=None
    )
    assert {h.fingerprint.id: h.distance for h in hits} == {i: d for i, d in planted.items() if d <= 6}
    hits = await find_duplicates(
        session, sha256="z" * 64, phash=query, member_id=people["bob"], registered_product_id=None, max_distance=3
    )
    assert sorted(h.distance for h in hits) == [0, 1, 2, 3]


async def test_record_stores_signed_hash_and_bands(session: AsyncSession, people: dict[str, int]) -> None:
    row = await record(
        session,
        sha256="0" * 64,
        phash=2**64 - 2,
        member_id=people["alice"],
        kind="invoice",
        registered_product_id=people["alice_monitor"],
        claim_id=None,
        path="x.jpg",
        now=NOW,
    )
    await session.refresh(row)
    assert row.phash == -2
    assert (row.band0, row.band1, row.band2, row.band3) == (0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF)
    assert row.created_at == NOW
    with pytest.raises(ValueError):
        await record(
            session,
            sha256="0" * 64,
            phash=1,
            member_id=people["alice"],
            kind="selfie",
            registered_product_id=None,
            claim_id=None,
            path=None,
            now=NOW,
        )


async def test_template_alike_photos_cost_a_bounded_read_and_an_exact_copy_still_comes_first(
    session: AsyncSession, people: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invoices printed from one store template hash alike: the look-up reads a capped number of
    candidates (exact copies first, then the oldest), however many alike photos there are. The
    price: a closer look-alike recorded after the cap's worth of alike ones is not ranked."""
    monkeypatch.setattr(fingerprints, "MIN_CANDIDATES", 10)
    monkeypatch.setattr(fingerprints, "CANDIDATES_PER_LIMIT", 1)

    async def add(sha256: str, phash: int) -> None:
        await record(
            session,
            sha256=sha256,
            phash=phash,
            member_id=people["alice"],
            kind="invoice",
            registered_product_id=people["alice_monitor"],
            claim_id=None,
            path=None,
            now=NOW,
        )

    for index in range(30):
        await add(f"{index:064x}", 0b111)  # three bits from the photo looked up
    await add("d" * 64, 0)  # the same picture, another file: distance 0, but beyond the cap
    await add("e" * 64, 1 << 40)  # the very same file, its hash aside: exact
    hits = await find_duplicates(
        session, sha256="e" * 64, phash=0, member_id=people["bob"], registered_product_id=None, limit=3
    )
    assert [(h.fingerprint.sha256[:1], h.exact, h.distance) for h in hits] == [
        ("e", True, 1),
        ("0", False, 3),
        ("0", False, 3),
    ]
