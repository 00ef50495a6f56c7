"""A member's registered products: listing them, their warranty, and replacing an invoice photo.

Warranty: `warranty_months` of the catalogue product, counted from the purchase date. The last day
covered is the day before the same calendar day N months later (bought 2026-03-03 with 36 months:
covered up to and including 2029-03-02); a purchase on the 31st of a month ending on a shorter
month is clamped to that month's last day first. "In warranty" compares the customer's date
(see `storage.eligibility.customer_today`) with that last day, inclusively.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, fingerprints
from storage.models import RegisteredProduct


@dataclass(frozen=True)
class Warranty:
    months: int
    ends_on: date  # the last day covered
    active: bool  # today <= ends_on


def add_months(day: date, months: int) -> date:
    """The same calendar day `months` later, clamped to the end of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def warranty(product: RegisteredProduct, today: date) -> Warranty:
    months = product.catalogue_product.warranty_months
    ends_on = add_months(product.purchase_date, months) - timedelta(days=1)
    return Warranty(months, ends_on, today <= ends_on)


async def for_member(session: AsyncSession, member_id: int) -> list[RegisteredProduct]:
    """The member's products, newest purchase first (then newest registration)."""
    rows = await session.scalars(
        select(RegisteredProduct)
        .where(RegisteredProduct.member_id == member_id)
        .order_by(RegisteredProduct.purchase_date.desc(), RegisteredProduct.id.desc())
    )
    return list(rows)


async def of_member(session: AsyncSession, member_id: int, product_id: int) -> RegisteredProduct | None:
    """One product, only if it belongs to the member (a button's id is never trusted alone)."""
    query = select(RegisteredProduct).where(
        RegisteredProduct.id == product_id, RegisteredProduct.member_id == member_id
    )
    product: RegisteredProduct | None = await session.scalar(query)
    return product


async def replace_invoice(
    session: AsyncSession,
    *,
    member_id: int,
    product_id: int,
    invoice_path: str,
    invoice_sha256: str,
    now: datetime,
    actor_user_id: int | None,
    invoice_phash: int | None = None,
) -> RegisteredProduct | None:
    """Points the product at a newly stored invoice photo; None when it is not the member's.

    The old file is kept: another product may share the same invoice (content-addressed store),
    and staff may still look at it for a claim in review. The audit log records both paths.
    """
    product = await of_member(session, member_id, product_id)
    if product is None:
        return None
    old_path = product.invoice_path
    product.invoice_path = invoice_path
    product.invoice_sha256 = invoice_sha256
    await audit.record(
        session,
        now=now,
        actor_user_id=actor_user_id,
        action="invoice_replaced",
        subject=f"registered_product:{product.id}",
        details={"old_path": old_path, "new_path": invoice_path, "sha256": invoice_sha256},
    )
    if invoice_phash is not None:
        await fingerprints.record(
            session,
            sha256=invoice_sha256,
            phash=invoice_phash,
            member_id=member_id,
            kind="invoice",
            registered_product_id=product.id,
            claim_id=None,
            path=invoice_path,
            now=now,
        )
    await session.flush()
    return product
