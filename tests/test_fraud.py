"""Fraud signals and the risk level, through the service layer."""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, date, datetime, timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import fingerprints, fraud
from storage.demo import load_demo_data
from storage.fraud import Risk, Signal
from storage.models import CatalogueSerial, Claim, ClaimItem, Member, Promotion, RegisteredProduct, SerialAttempt

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _image(text: str, size: tuple[int, int] = (900, 1200), quality: int = 90) -> bytes:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for line in range(12):
        draw.text((40, 40 + line * 60), f"{text} line {line} {'#' * (line * 3 % 17)}", fill="black")
    draw.rectangle((40, 900, 860, 1100), outline="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


class World:
    """Members, products and claims built straight in the database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.serials: list[str] = []
        self.count = 0

    async def setup(self) -> None:
        await load_demo_data(self.session)
        self.serials = list(
            (
                await self.session.scalars(select(CatalogueSerial.serial).where(CatalogueSerial.serial.like("BA9H%")))
            ).all()
        )
        self.promotion = await self.session.scalar(select(Promotion))

    async def member(self, email: str) -> Member:
        self.count += 1
        member = Member(
            telegram_user_id=7000 + self.count,
            chat_id=7000 + self.count,
            language="en",
            email=email,
            country="SG",
            created_at=NOW,
            updated_at=NOW,
            profile_completed_at=NOW,
        )
        self.session.add(member)
        await self.session.flush()
        return member

    async def claim(
        self,
        member: Member,
        *,
        invoice: bytes,
        sn_photo: bytes,
        invoice_number: str = "INV-1",
        labels: list[str] | None = None,
        at: datetime = NOW,
    ) -> Claim:
        serial = self.serials.pop()
        catalogue_id = await self.session.scalar(
            select(CatalogueSerial.product_id).where(CatalogueSerial.serial == serial)
        )
        product = RegisteredProduct(
            member_id=member.id,
            catalogue_product_id=catalogue_id,
            serial=serial,
            purchase_country="SG",
            store_name="Courts",
            purchase_date=date(2026, 3, 3),
            channel="retail",
            invoice_path=f"inv/{serial}.jpg",
            invoice_sha256=fingerprints_sha(invoice),
            invoice_number=invoice_number,
            registered_at=at,
        )
        self.session.add(product)
        await self.session.flush()
        claim = Claim(
            order_id=uuid.uuid4().hex[:10],
            member_id=member.id,
            promotion_id=self.promotion.id,
            email=member.email,
            status="review",
            attempt=1,
            idempotency_key=f"{member.id}:{serial}",
            submitted_at=at,
            items=[
                ClaimItem(
                    registered_product_id=product.id,
                    sn_photo_path=f"sn/{serial}.jpg",
                    sn_photo_sha256=fingerprints_sha(sn_photo),
                    label_serials=labels,
                )
            ],
        )
        self.session.add(claim)
        await self.session.flush()
        for kind, data, claim_id in (("invoice", invoice, None), ("sn_photo", sn_photo, claim.id)):
            await fingerprints.record(
                self.session,
                sha256=fingerprints_sha(data),
                phash=fingerprints.perceptual_hash(data),
                member_id=member.id,
                kind=kind,
                registered_product_id=product.id,
                claim_id=claim_id,
                path=None,
                now=at,
            )
        return claim


def _label(seed: int) -> bytes:
    """A photo unlike any other: random blocks, so perceptual hashes differ."""
    rng = random.Random(seed)
    image = Image.new("RGB", (800, 600), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(760), rng.randrange(560)
        draw.rectangle(
            (x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)),
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def fingerprints_sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


async def _world(session: AsyncSession) -> World:
    world = World(session)
    await world.setup()
    return world


async def test_a_clean_claim_is_low_risk(session: AsyncSession) -> None:
    world = await _world(session)
    claim = await world.claim(
        await world.member("a@example.com"), invoice=_image("alpha invoice"), sn_photo=_label(990)
    )
    assessment = await fraud.assess(session, claim.id, NOW)
    assert assessment.findings == [] and assessment.risk is Risk.LOW


async def test_the_same_invoice_photo_from_another_account_is_high_risk(session: AsyncSession) -> None:
    world = await _world(session)
    invoice = _image("shared invoice")
    first = await world.claim(
        await world.member("a@example.com"), invoice=invoice, sn_photo=_label(953), invoice_number="A-1"
    )
    second = await world.claim(
        await world.member("b@example.com"), invoice=invoice, sn_photo=_label(819), invoice_number="B-1"
    )
    assessment = await fraud.assess(session, second.id, NOW)
    assert assessment.risk is Risk.HIGH
    [finding] = [f for f in assessment.findings if f.signal is Signal.SAME_PHOTO]
    assert finding.details["order_id"] == first.order_id and finding.details["other_member"] is True


async def test_a_near_copy_is_flagged_for_review(session: AsyncSession) -> None:
    world = await _world(session)
    original = _image("near invoice")
    copy = Image.open(io.BytesIO(original)).resize((630, 840))
    buffer = io.BytesIO()
    copy.save(buffer, "JPEG", quality=60)
    await world.claim(await world.member("a@example.com"), invoice=original, sn_photo=_label(953), invoice_number="A-1")
    second = await world.claim(
        await world.member("b@example.com"), invoice=buffer.getvalue(), sn_photo=_label(819), invoice_number="B-1"
    )
    assessment = await fraud.assess(session, second.id, NOW)
    assert [f.signal for f in assessment.findings] == [Signal.NEAR_PHOTO]
    assert assessment.risk is Risk.REVIEW


async def test_invoice_number_and_store_typed_by_two_accounts(session: AsyncSession) -> None:
    world = await _world(session)
    await world.claim(
        await world.member("a@example.com"), invoice=_image("one"), sn_photo=_label(733), invoice_number="INV-42"
    )
    second = await world.claim(
        await world.member("b@example.com"), invoice=_image("two"), sn_photo=_label(967), invoice_number="inv-42"
    )
    assert Signal.SAME_INVOICE_NUMBER in {f.signal for f in (await fraud.assess(session, second.id, NOW)).findings}


async def test_serial_attempts_label_mismatch_and_velocity(session: AsyncSession) -> None:
    world = await _world(session)
    member = await world.member("a@example.com")
    claims = [
        await world.claim(
            member,
            invoice=_label(200 + n),
            sn_photo=_label(100 + n),
            invoice_number=f"N-{n}",
            labels=["ZZ0000000000"] if n == 2 else None,
            at=NOW - timedelta(hours=n),
        )
        for n in range(3)
    ]
    intruder = await world.member("x@example.com")
    product = await session.scalar(
        select(RegisteredProduct).where(RegisteredProduct.id == claims[2].items[0].registered_product_id)
    )
    session.add(SerialAttempt(member_id=intruder.id, serial=product.serial, kind="duplicate", at=NOW))
    await session.flush()
    signals = {f.signal for f in (await fraud.assess(session, claims[2].id, NOW)).findings}
    assert signals == {Signal.LABEL_MISMATCH, Signal.SERIAL_ATTEMPTS, Signal.VELOCITY}
