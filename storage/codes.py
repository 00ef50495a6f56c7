"""Activation codes: imported from CSV, validated, deduplicated, each assigned at most once."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ActivationCode, Promotion


@dataclass
class ImportReport:
    added: int = 0
    duplicates: int = 0  # already stored, or repeated in the file
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line, value)


def parse_codes(text: str, pattern: str) -> tuple[list[str], list[tuple[int, str]]]:
    """Codes from CSV text (first column; a header line is allowed), upper-cased and trimmed."""
    shape = re.compile(pattern)
    codes: list[str] = []
    invalid: list[tuple[int, str]] = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or row[0].strip().startswith("#"):
            continue
        value = row[0].strip().upper()
        if shape.fullmatch(value):
            codes.append(value)
        elif not (line == 1 and value.isalpha()):  # "code" header
            invalid.append((line, row[0].strip()))
    return codes, invalid


async def import_codes(session: AsyncSession, promotion: Promotion, text: str, now: datetime) -> ImportReport:
    """Adds the file's valid codes that are not stored yet."""
    codes, invalid = parse_codes(text, promotion.code_pattern)
    report = ImportReport(invalid=invalid)
    unique = list(dict.fromkeys(codes))
    report.duplicates = len(codes) - len(unique)
    existing = set(
        (await session.scalars(select(ActivationCode.code).where(ActivationCode.promotion_id == promotion.id))).all()
    )
    for code in unique:
        if code in existing:
            report.duplicates += 1
            continue
        session.add(ActivationCode(promotion_id=promotion.id, code=code, imported_at=now))
        report.added += 1
    await session.flush()
    return report


async def codes_left(session: AsyncSession, promotion_id: int) -> int:
    query = (
        select(func.count())
        .select_from(ActivationCode)
        .where(ActivationCode.promotion_id == promotion_id, ActivationCode.claim_id.is_(None))
    )
    return int(await session.scalar(query) or 0)


async def assign_next(session: AsyncSession, promotion_id: int, claim_id: int, now: datetime) -> str | None:
    """Gives the claim the oldest unused code; None when none is left.

    FOR UPDATE SKIP LOCKED lets two approvals on PostgreSQL take different codes; SQLite
    serializes writers (BEGIN IMMEDIATE). The unique claim_id column is the last guard.
    """
    query = (
        select(ActivationCode)
        .where(ActivationCode.promotion_id == promotion_id, ActivationCode.claim_id.is_(None))
        .order_by(ActivationCode.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    code = await session.scalar(query)
    if code is None:
        return None
    code.claim_id, code.assigned_at = claim_id, now
    await session.flush()
    return code.code


async def assign_given(
    session: AsyncSession, promotion_id: int, claim_id: int, value: str, now: datetime
) -> str | None:
    """Assigns a code staff typed: an unused stored one, or a new one added on the spot."""
    value = value.strip().upper()
    code = await session.scalar(
        select(ActivationCode)
        .where(ActivationCode.promotion_id == promotion_id, ActivationCode.code == value)
        .with_for_update()
    )
    if code is None:
        code = ActivationCode(promotion_id=promotion_id, code=value, imported_at=now)
        session.add(code)
    elif code.claim_id is not None:
        return None
    code.claim_id, code.assigned_at = claim_id, now
    await session.flush()
    return code.code
