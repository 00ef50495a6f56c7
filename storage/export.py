"""Claims with their decisions, as CSV for the vendor's other systems (`python -m bot export claims`).

One row per claim, oldest submission first. Columns (header line first):

| column | what |
| --- | --- |
| order_id | the order ID the customer was given |
| submitted_at | last (re-)submission, ISO 8601 UTC |
| status | review, missing_info, rejected, approved |
| promotion | the promotion's slug |
| email, first_name, last_name, country | the member (as in their profile; empty once they deleted their data) |
| telegram_user_id | the member's Telegram account |
| products, serials, models | one entry per product of the claim, joined with " | " |
| purchase_dates, stores, channels | likewise |
| lucky_draw | yes, no, or empty when the promotion has no draw |
| decided_by, decided_at | the staff member's Telegram user id and the time, when decided |
| reason, reason_code | the rejection reason (text as staff gave it) and its canned code |
| code | the activation code assigned, if any |
| attempts | 1 for the first submission, +1 for each "redeem again" |
| phone | the member's phone (profile) |
| shipping_address | a physical prize's address as confirmed, one line ("name, street, postcode city, country, phone") |
| amount, currency | a cashback's amount |
| invoice_numbers | the products' invoice numbers, joined with a vertical bar |
| fulfilment | after approval: approved, paid, shipped or delivered (digital codes: empty) |
| fulfil_by | the fulfilment promise: paid (30 working days) or delivered (12 weeks) at the latest |
| paid_on, payment_reference | cashback, once paid |
| carrier, tracking_number, shipped_on, delivered_on | physical prize, once shipped |

Values are written as they are (no spreadsheet-formula escaping), because machines read them.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import fulfilment
from storage.models import ActivationCode, CatalogueProduct, Claim, Fulfilment, Member, Promotion, RegisteredProduct

COLUMNS = (
    "order_id",
    "submitted_at",
    "status",
    "promotion",
    "email",
    "first_name",
    "last_name",
    "country",
    "telegram_user_id",
    "products",
    "serials",
    "models",
    "purchase_dates",
    "stores",
    "channels",
    "lucky_draw",
    "decided_by",
    "decided_at",
    "reason",
    "reason_code",
    "code",
    "attempts",
    "phone",
    "shipping_address",
    "amount",
    "currency",
    "invoice_numbers",
    "fulfilment",
    "fulfil_by",
    "paid_on",
    "payment_reference",
    "carrier",
    "tracking_number",
    "shipped_on",
    "delivered_on",
)
JOIN = " | "
BATCH = 500


def _time(value: date | datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


async def promotion_id(session: AsyncSession, promotion_slug: str) -> int:
    """The promotion's id; LookupError for an unknown slug."""
    found = await session.scalar(select(Promotion.id).where(Promotion.slug == promotion_slug.strip().lower()))
    if found is None:
        raise LookupError(promotion_slug)
    return int(found)


async def claim_rows(session: AsyncSession, promotion_slug: str | None = None) -> AsyncIterator[dict[str, str]]:
    """The export's rows, claim by claim; every claim when `promotion_slug` is None.

    Raises LookupError for an unknown slug.
    """
    query = (
        select(Claim, Promotion, Member)
        .join(Promotion, Promotion.id == Claim.promotion_id)
        .join(Member, Member.id == Claim.member_id)
    )
    if promotion_slug is not None:
        query = query.where(Claim.promotion_id == await promotion_id(session, promotion_slug))
    query = query.options(selectinload(Claim.items)).order_by(Claim.submitted_at, Claim.id)
    rows = (await session.execute(query)).all()
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        claim_ids = [claim.id for claim, _, _ in batch]
        code_rows = await session.execute(
            select(ActivationCode.claim_id, ActivationCode.code).where(ActivationCode.claim_id.in_(claim_ids))
        )
        assigned: dict[int | None, str] = {claim_id: code for claim_id, code in code_rows}
        after = await fulfilment.of_claims(session, claim_ids)
        product_ids = [item.registered_product_id for claim, _, _ in batch for item in claim.items]
        products = {
            product.id: (product, catalogue)
            for product, catalogue in (
                await session.execute(
                    select(RegisteredProduct, CatalogueProduct)
                    .join(CatalogueProduct, CatalogueProduct.id == RegisteredProduct.catalogue_product_id)
                    .where(RegisteredProduct.id.in_(product_ids))
                )
            ).all()
        }
        for claim, promotion, member in batch:
            items = [
                products[item.registered_product_id] for item in claim.items if item.registered_product_id in products
            ]
            yield {
                "order_id": claim.order_id,
                "submitted_at": _time(claim.submitted_at),
                "status": str(claim.status),
                "promotion": promotion.slug,
                "email": claim.email or member.email or "",
                "first_name": member.first_name or "",
                "last_name": member.last_name or "",
                "country": member.country or "",
                "telegram_user_id": str(member.telegram_user_id),
                "products": JOIN.join(catalogue.name for _, catalogue in items),
                "serials": JOIN.join(product.serial for product, _ in items),
                "models": JOIN.join(catalogue.model for _, catalogue in items),
                "purchase_dates": JOIN.join(product.purchase_date.isoformat() for product, _ in items),
                "stores": JOIN.join(product.store_name for product, _ in items),
                "channels": JOIN.join(product.channel for product, _ in items),
                "lucky_draw": _yes_no(claim.lucky_draw_opt_in),
                "decided_by": str(claim.decided_by) if claim.decided_by is not None else "",
                "decided_at": _time(claim.decided_at),
                "reason": claim.reason or "",
                "reason_code": claim.reason_code or "",
                "code": str(assigned.get(claim.id) or ""),
                "attempts": str(claim.attempt),
                **_fulfilment_columns(claim, promotion, member, after.get((claim.id, fulfilment.PRIZE))),
                "invoice_numbers": JOIN.join(product.invoice_number or "" for product, _ in items),
            }


def _fulfilment_columns(claim: Claim, promotion: Promotion, member: Member, row: Fulfilment | None) -> dict[str, str]:
    address = claim.shipping_address or {}
    state = fulfilment.state_of(claim, promotion, row)
    due = fulfilment.fulfilment_due(claim, promotion)
    return {
        "phone": member.phone or "",
        "shipping_address": ", ".join(
            part
            for part in (
                address.get("name"),
                address.get("street"),
                " ".join(p for p in (address.get("postcode"), address.get("city")) if p),
                address.get("country"),
                address.get("phone"),
            )
            if part
        ),
        "amount": str(promotion.cashback_amount) if promotion.cashback_amount is not None else "",
        "currency": promotion.currency or "",
        "fulfilment": str(state) if state else "",
        "fulfil_by": _time(due) if due else "",
        "paid_on": _time(row.paid_on) if row and row.paid_on else "",
        "payment_reference": (row.payment_reference if row else None) or "",
        "carrier": (row.carrier if row else None) or "",
        "tracking_number": (row.tracking_number if row else None) or "",
        "shipped_on": _time(row.shipped_on) if row and row.shipped_on else "",
        "delivered_on": _time(row.delivered_on) if row and row.delivered_on else "",
    }


async def write_claims_csv(session: AsyncSession, out: TextIO, promotion_slug: str | None = None) -> int:
    """Writes the header and one line per claim to `out`; returns the number of claims.

    An unknown slug raises LookupError before anything is written.
    """
    if promotion_slug is not None:
        await promotion_id(session, promotion_slug)
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    async for row in claim_rows(session, promotion_slug):
        writer.writerow(row)
        count += 1
    return count
