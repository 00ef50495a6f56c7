"""Fraud signals for a claim, and the risk level they add up to. Plain functions over a session.

The duplicates that matter (DESIGN): a serial registered once; an invoice number + store used
once; the same photo (exact hash) or a near copy (perceptual hash) sent by two accounts or for
two products. Velocity: many claims from one account or e-mail in a short time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import fingerprints
from storage.claims import same_email
from storage.models import Claim, ImageFingerprint, RegisteredProduct, SerialAttempt

VELOCITY_WINDOW = timedelta(days=1)
VELOCITY_LIMIT = 3  # claims per account or e-mail within the window before it is a signal


class Risk(enum.IntEnum):
    LOW = 0
    REVIEW = 1
    HIGH = 2


class Signal(enum.StrEnum):
    """What was seen; the value is a locale-key suffix for the staff card."""

    SAME_PHOTO = "same_photo"  # exact copy used by another account or product
    NEAR_PHOTO = "near_photo"  # a near copy (perceptual hash)
    SAME_INVOICE_NUMBER = "same_invoice_number"  # invoice number + store typed by another account
    SERIAL_ATTEMPTS = "serial_attempts"  # someone else tried to register this serial
    LABEL_MISMATCH = "label_mismatch"  # the S/N photo's barcode shows another serial
    VELOCITY = "velocity"  # many claims from this account or e-mail in a day


WEIGHT = {
    Signal.SAME_PHOTO: Risk.HIGH,
    Signal.SAME_INVOICE_NUMBER: Risk.HIGH,
    Signal.LABEL_MISMATCH: Risk.HIGH,
    Signal.NEAR_PHOTO: Risk.REVIEW,
    Signal.SERIAL_ATTEMPTS: Risk.REVIEW,
    Signal.VELOCITY: Risk.REVIEW,
}


@dataclass(frozen=True)
class Finding:
    signal: Signal
    details: dict[str, Any] = field(default_factory=dict)  # e.g. {"order_id": "…", "kind": "invoice"}


@dataclass
class Assessment:
    findings: list[Finding]

    @property
    def risk(self) -> Risk:
        return max((WEIGHT[f.signal] for f in self.findings), default=Risk.LOW)


async def _order_of(session: AsyncSession, hit: ImageFingerprint) -> str | None:
    """The claim a photo belongs to, for the card's link to it."""
    if hit.claim_id is not None:
        order: str | None = await session.scalar(select(Claim.order_id).where(Claim.id == hit.claim_id))
        return order
    if hit.registered_product_id is not None:
        from storage.models import ClaimItem

        latest: str | None = await session.scalar(
            select(Claim.order_id)
            .join(ClaimItem)
            .where(ClaimItem.registered_product_id == hit.registered_product_id)
            .order_by(Claim.id.desc())
            .limit(1)
        )
        return latest
    return None


async def photo_findings(session: AsyncSession, claim: Claim) -> list[Finding]:
    """Each photo of the claim (invoices and S/N photos) against every photo stored before."""
    found: list[Finding] = []
    rows = await session.scalars(
        select(ImageFingerprint).where(
            ImageFingerprint.member_id == claim.member_id,
            ImageFingerprint.registered_product_id.in_([i.registered_product_id for i in claim.items]),
        )
    )
    for own in rows:
        for hit in await fingerprints.find_duplicates(
            session,
            sha256=own.sha256,
            phash=own.phash,
            member_id=own.member_id,
            registered_product_id=own.registered_product_id,
        ):
            if hit.fingerprint.claim_id == claim.id:
                continue
            signal = Signal.SAME_PHOTO if hit.exact else Signal.NEAR_PHOTO
            found.append(
                Finding(
                    signal,
                    {
                        "kind": own.kind,
                        "order_id": await _order_of(session, hit.fingerprint) or "—",
                        "distance": hit.distance,
                        "other_member": hit.fingerprint.member_id != claim.member_id,
                    },
                )
            )
    return list({(f.signal, f.details["kind"], f.details["order_id"]): f for f in found}.values())


async def invoice_number_findings(session: AsyncSession, products: list[RegisteredProduct]) -> list[Finding]:
    """The same invoice number and store typed by another account."""
    found: list[Finding] = []
    for product in products:
        if not product.invoice_number:
            continue
        others = await session.scalars(
            select(RegisteredProduct).where(
                func.upper(RegisteredProduct.invoice_number) == product.invoice_number.upper(),
                func.lower(RegisteredProduct.store_name) == product.store_name.lower(),
                RegisteredProduct.member_id != product.member_id,
            )
        )
        found += [
            Finding(Signal.SAME_INVOICE_NUMBER, {"invoice_number": product.invoice_number, "serial": other.serial})
            for other in others
        ]
    return found


async def serial_findings(session: AsyncSession, products: list[RegisteredProduct]) -> list[Finding]:
    """Refused attempts by other accounts to register one of these serials."""
    found: list[Finding] = []
    for product in products:
        attempts = int(
            await session.scalar(
                select(func.count())
                .select_from(SerialAttempt)
                .where(
                    SerialAttempt.serial == product.serial,
                    SerialAttempt.kind == "duplicate",
                    SerialAttempt.member_id != product.member_id,
                )
            )
            or 0
        )
        if attempts:
            found.append(Finding(Signal.SERIAL_ATTEMPTS, {"serial": product.serial, "attempts": attempts}))
    return found


def label_findings(claim: Claim, products: dict[int, RegisteredProduct]) -> list[Finding]:
    """An S/N photo whose barcode reads as another serial than the registered one."""
    found: list[Finding] = []
    for item in claim.items:
        product = products.get(item.registered_product_id)
        labels = item.label_serials or []
        if product is not None and labels and product.serial not in labels:
            found.append(Finding(Signal.LABEL_MISMATCH, {"serial": product.serial, "label": labels[0]}))
    return found


async def velocity_findings(session: AsyncSession, claim: Claim, now: datetime) -> list[Finding]:
    """Many claims from this account or this e-mail within a day."""
    since = now - VELOCITY_WINDOW
    by_member = int(
        await session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.member_id == claim.member_id, Claim.submitted_at >= since)
        )
        or 0
    )
    by_email = int(
        await session.scalar(
            select(func.count()).select_from(Claim).where(same_email(claim.email), Claim.submitted_at >= since)
        )
        or 0
    )
    if max(by_member, by_email) >= VELOCITY_LIMIT:
        return [Finding(Signal.VELOCITY, {"account": by_member, "email": by_email})]
    return []


async def assess(session: AsyncSession, claim_id: int, now: datetime) -> Assessment:
    """Every signal for the claim; `.risk` is the highest weight among them."""
    claim = await session.scalar(select(Claim).where(Claim.id == claim_id).options(selectinload(Claim.items)))
    if claim is None:
        return Assessment([])
    products = {
        p.id: p
        for p in await session.scalars(
            select(RegisteredProduct).where(RegisteredProduct.id.in_([i.registered_product_id for i in claim.items]))
        )
    }
    findings = await photo_findings(session, claim)
    findings += await invoice_number_findings(session, list(products.values()))
    findings += await serial_findings(session, list(products.values()))
    findings += label_findings(claim, products)
    findings += await velocity_findings(session, claim, now)
    return Assessment(findings)
