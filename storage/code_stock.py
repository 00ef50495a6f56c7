"""Activation-code stock per promotion, and importing a CSV of codes for a promotion by its slug.

The parsing, validation and deduplication rules are `storage.codes.import_codes`: the first
column of each line, trimmed and upper-cased, must match the promotion's `code_pattern`
(AAAAA-BBBBB-CCCCC by default); a header line of letters only and lines starting with `#` are
skipped; a code already stored for the promotion, or repeated in the file, counts as a duplicate.
Both the operator's `python -m bot codes import` and the staff chat's `/codes import` land here,
so they report the same way and both write `codes.imported` to the audit log.

Also the warning to the staff chat when an approval leaves the stock low or empty: it is about
the stock, and a new import re-arms it (storage/review.py calls it from `approve`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, codes, outbox
from storage.models import ActivationCode, AuditEntry, PrizeKind, Promotion
from storage.texts import promotion_name


class UnknownPromotion(Exception):
    def __init__(self, slug: str, known: list[str]) -> None:
        super().__init__(slug)
        self.slug = slug
        self.known = known


@dataclass
class Stock:
    promotion: Promotion
    total: int
    left: int


@dataclass
class Imported:
    promotion: Promotion
    report: codes.ImportReport
    left: int


async def slugs(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(Promotion.slug).order_by(Promotion.slug))).all())


async def promotion_by_slug(session: AsyncSession, slug: str) -> Promotion:
    promotion = await session.scalar(select(Promotion).where(Promotion.slug == slug.strip().lower()))
    if promotion is None:
        raise UnknownPromotion(slug, await slugs(session))
    return promotion


async def stock(session: AsyncSession) -> list[Stock]:
    """Codes imported and still unused, for every promotion that gives codes or holds some."""
    counted = select(ActivationCode.promotion_id, func.count()).group_by(ActivationCode.promotion_id)
    totals: dict[int, int] = {promotion_id: count for promotion_id, count in await session.execute(counted)}
    free = counted.where(ActivationCode.claim_id.is_(None))
    unused: dict[int, int] = {promotion_id: count for promotion_id, count in await session.execute(free)}
    result: list[Stock] = []
    for promotion in (await session.scalars(select(Promotion).order_by(Promotion.slug))).all():
        if promotion.prize_kind == PrizeKind.DIGITAL_CODE or promotion.id in totals:
            result.append(Stock(promotion, int(totals.get(promotion.id, 0)), int(unused.get(promotion.id, 0))))
    return result


async def import_for_slug(
    session: AsyncSession, slug: str, text: str, actor_user_id: int | None, now: datetime, source: str
) -> Imported:
    """Imports the CSV text's codes into the promotion `slug`; `source` is "cli" or "chat"."""
    promotion = await promotion_by_slug(session, slug)
    report = await codes.import_codes(session, promotion, text, now)
    left = await codes.codes_left(session, promotion.id)
    details = {
        "added": report.added,
        "duplicates": report.duplicates,
        "invalid": len(report.invalid),
        "left": left,
        "source": source,
    }
    await audit.record(
        session, now=now, actor_user_id=actor_user_id, action="codes.imported", subject=promotion.slug, details=details
    )
    return Imported(promotion, report, left)


@dataclass(frozen=True)
class StaffNotice:
    """Where and in which language staff are warned (low codes), and the threshold."""

    chat_id: int | None
    language: str
    low_codes_warning: int


async def warn_low_codes(
    session: AsyncSession, promotion: Promotion, left: int, notice: StaffNotice | None, now: datetime
) -> None:
    """Once per crossing: when the stock falls below the threshold, and when it runs out.

    "Once" is counted since the promotion's latest code import, from the audit log, so a new
    import re-arms both warnings.
    """
    if notice is None or notice.chat_id is None or left >= notice.low_codes_warning:
        return
    kind = "out" if left == 0 else "low"
    last_import = await session.scalar(
        select(func.max(ActivationCode.imported_at)).where(ActivationCode.promotion_id == promotion.id)
    )
    warned = (
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == f"codes.{kind}_warning", AuditEntry.subject == promotion.slug)
    )
    if last_import is not None:
        warned = warned.where(AuditEntry.at >= last_import)
    if await session.scalar(warned):
        return
    values = {
        "promotion": promotion_name(promotion, notice.language),
        "slug": promotion.slug,
        "left": left,
        "threshold": notice.low_codes_warning,
    }
    await outbox.enqueue(
        session,
        chat_id=notice.chat_id,
        kind="staff_notice",
        key=f"staff.codes_{kind}",
        language=notice.language,
        values=values,
        now=now,
    )
    await audit.record(
        session,
        now=now,
        actor_user_id=None,
        action=f"codes.{kind}_warning",
        subject=promotion.slug,
        details={"left": left},
    )
