"""Every export file in one place, as CSV or XLSX: the CLI (`python -m bot export …`) and the
staff chat's `/export` write the same bytes from the same rows.

| kind | rows | columns |
| --- | --- | --- |
| claims | every claim (or one promotion's), oldest submission first | storage/export.py |
| payouts | a cashback promotion's approved claims | storage/payouts.py |
| shipments | a physical promotion's parcels | storage/shipments.py |
| subscribers | members who opted in to the newsletter (data not deleted); with a promotion: its claimants | below |

CSV is UTF-8 with a header line, values as they are (machines read it). XLSX is one sheet named
after the kind, the header in the first row, every value a text cell (so an order ID or a phone
keeps its leading zeros and nothing is read as a formula). Building an XLSX is CPU work: callers
on the event loop run `render` in a thread.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import export, payouts, shipments
from storage.models import Claim, Member

KINDS = ("claims", "payouts", "shipments", "subscribers")
FORMATS = ("csv", "xlsx")
NEEDS_PROMOTION = frozenset({"payouts", "shipments"})
SUBSCRIBER_COLUMNS = ("telegram_user_id", "first_name", "last_name", "email", "country", "language")
PROGRESS_EVERY = 500  # rows between two progress reports

Progress = Callable[[int], Awaitable[None]]


class PromotionNeeded(Exception):
    """Payouts and shipments belong to one promotion: the slug is required."""


@dataclass
class Table:
    """An export's header and rows, all values text."""

    kind: str
    columns: tuple[str, ...]
    rows: list[dict[str, str]]


async def _claims(session: AsyncSession, slug: str | None, progress: Progress | None) -> list[dict[str, str]]:
    if slug is not None:
        await export.promotion_id(session, slug)
    rows: list[dict[str, str]] = []
    async for row in export.claim_rows(session, slug):
        rows.append(row)
        if progress is not None and len(rows) % PROGRESS_EVERY == 0:
            await progress(len(rows))
    return rows


async def subscriber_rows(session: AsyncSession, slug: str | None = None) -> list[dict[str, str]]:
    """Members who opted in to the newsletter, oldest account first; LookupError for an unknown slug."""
    query = select(Member).where(
        Member.newsletter.is_(True), Member.deleted_at.is_(None), Member.consent_at.is_not(None)
    )
    if slug is not None:
        pid = await export.promotion_id(session, slug)
        query = query.where(Member.id.in_(select(Claim.member_id).where(Claim.promotion_id == pid)))
    members = await session.scalars(query.order_by(Member.created_at, Member.id))
    return [
        {
            "telegram_user_id": str(member.telegram_user_id),
            "first_name": member.first_name or "",
            "last_name": member.last_name or "",
            "email": member.email or "",
            "country": member.country or "",
            "language": member.language or "",
        }
        for member in members
    ]


async def read(session: AsyncSession, kind: str, slug: str | None = None, progress: Progress | None = None) -> Table:
    """The export's rows. LookupError: unknown promotion; ValueError: payouts of a promotion that pays
    no cash; PromotionNeeded: payouts or shipments without a slug; KeyError: unknown kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    if kind in NEEDS_PROMOTION and slug is None:
        raise PromotionNeeded(kind)
    if kind == "claims":
        return Table(kind, export.COLUMNS, await _claims(session, slug, progress))
    if kind == "subscribers":
        return Table(kind, SUBSCRIBER_COLUMNS, await subscriber_rows(session, slug))
    assert slug is not None
    if kind == "payouts":
        return Table(kind, payouts.COLUMNS, await payouts.export_rows(session, slug))
    return Table(kind, shipments.COLUMNS, await shipments.export_rows(session, slug))


def render(table: Table, file_format: str) -> bytes:
    """The file's bytes: CSV (UTF-8) or XLSX."""
    if file_format == "xlsx":
        return _xlsx(table)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=table.columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table.rows)
    return out.getvalue().encode("utf-8")


def _xlsx(table: Table) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.kind)

    def text_cell(value: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # never a formula, never a number
        return cell

    sheet.append([text_cell(column) for column in table.columns])
    for row in table.rows:
        sheet.append([text_cell(row.get(column, "")) for column in table.columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(kind: str, slug: str | None, day: str, file_format: str) -> str:
    return f"{kind}-{slug}-{day}.{file_format}" if slug else f"{kind}-{day}.{file_format}"
