"""What the payout and shipment files share: reading a CSV, a row's problems, the import's report,
and the claim rows an export starts from.

An import checks each row whole before it writes anything of it: a bad row changes nothing (its
problem is reported with the file's line number and the field), the good rows are applied, and a
row already applied is counted as unchanged, so running the same file twice changes nothing the
second time. The claims a file names are read up front in a few queries (`Known`), so a row costs
its writes only (bench/batches.py). The whole file is one transaction: should the database fail
half-way, nothing of the file is applied, and running it again applies it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    CatalogueProduct,
    Claim,
    ClaimStatus,
    Fulfilment,
    FulfilmentState,
    Member,
    Promotion,
    RegisteredProduct,
)

JOIN = " | "


class RowProblem(Exception):
    """A row that cannot be applied: which field, and why."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column
        self.message = message


@dataclass(frozen=True)
class RowError:
    line: int  # the file's line number (the header is line 1)
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.message}"


@dataclass
class ImportReport:
    applied: list[str] = field(default_factory=list)  # order IDs changed (each announced once)
    unchanged: int = 0  # rows already applied before
    errors: list[RowError] = field(default_factory=list)


class FileProblem(Exception):
    """The file as a whole cannot be read (no header, a missing column)."""


@dataclass
class Known:
    """The claims a file names, read in a few queries before its rows are applied (a file of
    thousands of rows would otherwise cost two look-ups per row)."""

    claims: dict[str, tuple[Claim, Promotion, Member]] = field(default_factory=dict)
    fulfilments: dict[tuple[int, str], Fulfilment] = field(default_factory=dict)


RowHandler = Callable[[AsyncSession, dict[str, str], Known], Awaitable[str | None]]  # the order ID changed, or None
LOOKUP_CHUNK = 500


async def _known(session: AsyncSession, order_ids: list[str]) -> Known:
    known = Known()
    wanted = sorted(set(order_ids))
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        rows = await session.execute(
            select(Claim, Promotion, Member)
            .join(Promotion, Promotion.id == Claim.promotion_id)
            .join(Member, Member.id == Claim.member_id)
            .where(Claim.order_id.in_(wanted[start : start + LOOKUP_CHUNK]))
        )
        for claim, promotion, member in rows.tuples():
            known.claims[claim.order_id] = (claim, promotion, member)
    claim_ids = [claim.id for claim, _, _ in known.claims.values()]
    for start in range(0, len(claim_ids), LOOKUP_CHUNK):
        chunk = claim_ids[start : start + LOOKUP_CHUNK]
        for row in await session.scalars(select(Fulfilment).where(Fulfilment.claim_id.in_(chunk))):
            known.fulfilments[(row.claim_id, row.purpose)] = row
    return known


def read_rows(text: str, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The rows with their line numbers, the column names lower-cased; FileProblem without them."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise FileProblem("the file is empty (a header line is expected)")
    names = [name.strip().lower() for name in reader.fieldnames]
    missing = [name for name in required if name not in names]
    if missing:
        raise FileProblem(f"missing column(s): {', '.join(missing)} (found: {', '.join(names)})")
    rows = []
    for raw in reader:
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if any(row.values()):
            rows.append((reader.line_num, row))
    return rows


async def apply_rows(session: AsyncSession, text: str, required: tuple[str, ...], handle: RowHandler) -> ImportReport:
    report = ImportReport()
    rows = read_rows(text, required)
    known = await _known(session, [row.get("order_id", "").lower() for _, row in rows])
    for line, row in rows:
        try:
            changed = await handle(session, row, known)
        except RowProblem as problem:
            report.errors.append(RowError(line, problem.column, problem.message))
            continue
        if changed is None:
            report.unchanged += 1
        else:
            report.applied.append(changed)
    return report


def parse_day(row: dict[str, str], column: str, today: date, *, required: bool) -> date | None:
    value = row.get(column, "")
    if not value:
        if required:
            raise RowProblem(column, "is missing (a date like 2026-04-21)")
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise RowProblem(column, f"must be a date like 2026-04-21, got {value!r}") from None
    if day > today:
        raise RowProblem(column, f"{day} is in the future")
    return day


def text_field(row: dict[str, str], column: str, limit: int) -> str:
    value = " ".join(row.get(column, "").split())
    if not value:
        raise RowProblem(column, "is missing")
    if len(value) > limit:
        raise RowProblem(column, f"is longer than {limit} characters")
    return value


def claim_for(known: Known, row: dict[str, str]) -> tuple[Claim, Promotion, Member]:
    order_id = row.get("order_id", "").strip().lower()
    if not order_id:
        raise RowProblem("order_id", "is missing")
    found = known.claims.get(order_id)
    if found is None:
        raise RowProblem("order_id", f"no order {order_id!r}")
    return found


def fulfilment_of(session: AsyncSession, known: Known, claim: Claim, purpose: str, now: datetime) -> Fulfilment:
    """The claim's fulfilment row for `purpose`, made when there is none yet."""
    row = known.fulfilments.get((claim.id, purpose))
    if row is None:
        row = Fulfilment(claim_id=claim.id, purpose=purpose, state=FulfilmentState.APPROVED, updated_at=now)
        session.add(row)
        known.fulfilments[(claim.id, purpose)] = row
    return row


@dataclass
class ClaimFacts:
    """An approved claim with what its exports show."""

    claim: Claim
    promotion: Promotion
    member: Member
    products: list[tuple[RegisteredProduct, CatalogueProduct]]

    def joined(self, pick: Callable[[RegisteredProduct, CatalogueProduct], str | None]) -> str:
        return JOIN.join(str(pick(p, c) or "") for p, c in self.products)


async def approved_claims(session: AsyncSession, promotion_id: int) -> list[ClaimFacts]:
    """The promotion's approved claims, oldest approval first, with their products."""
    rows = (
        await session.execute(
            select(Claim, Promotion, Member)
            .join(Promotion, Promotion.id == Claim.promotion_id)
            .join(Member, Member.id == Claim.member_id)
            .where(Claim.promotion_id == promotion_id, Claim.status == ClaimStatus.APPROVED)
            .options(selectinload(Claim.items))
            .order_by(Claim.decided_at, Claim.id)
        )
    ).all()
    product_ids = [item.registered_product_id for claim, _, _ in rows for item in claim.items]
    products = {
        product.id: (product, catalogue)
        for product, catalogue in (
            await session.execute(
                select(RegisteredProduct, CatalogueProduct)
                .join(CatalogueProduct, CatalogueProduct.id == RegisteredProduct.catalogue_product_id)
                .where(RegisteredProduct.id.in_(product_ids))
            )
        ).tuples()
    }
    return [
        ClaimFacts(
            claim,
            promotion,
            member,
            [products[i.registered_product_id] for i in claim.items if i.registered_product_id in products],
        )
        for claim, promotion, member in rows
    ]


def write_csv(out: TextIO, columns: tuple[str, ...], rows: list[dict[str, str]]) -> int:
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)


def iso(value: date | datetime | None) -> str:
    return value.isoformat() if value is not None else ""
