"""Lists of claims for staff (the queue, /next, search, a customer's history) and the statistics.

Kept apart from storage/review_queries.py (one claim's card and decision) because these read many
claims at once. Read-only except `next_unclaimed`, which records that a staff member picked a
claim so that two people typing /next at once get different claims.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import codes, fraud
from storage.models import (
    ActivationCode,
    Claim,
    ClaimEvent,
    ClaimItem,
    ClaimStatus,
    Member,
    OutboxMessage,
    OutboxStatus,
    PrizeKind,
    Promotion,
    RegisteredProduct,
)
from storage.review_queries import latest_decision_event

PICK_HOLD = timedelta(minutes=15)  # /next skips a claim another staff member picked this recently


@dataclass
class ClaimLine:
    """A claim in a list (queue, search, history)."""

    claim: Claim
    promotion: Promotion
    member: Member | None
    products: list[RegisteredProduct]
    code: str | None = None
    risk: fraud.Risk = fraud.Risk.LOW


@dataclass
class PromotionStats:
    promotion: Promotion
    counts: dict[str, int]
    codes_left: int | None  # digital-code promotions only


@dataclass
class Stats:
    promotions: list[PromotionStats]
    totals: dict[str, int]
    median_decision: timedelta | None
    decided: int
    oldest_waiting: timedelta | None
    failed_messages: int


# ---------------------------------------------------------------- lists


async def _lines(session: AsyncSession, claims: list[Claim]) -> list[ClaimLine]:
    lines: list[ClaimLine] = []
    for claim in claims:
        promotion = await session.get(Promotion, claim.promotion_id)
        assert promotion is not None
        member = await session.get(Member, claim.member_id)
        products = [
            p
            for p in [
                await session.get(RegisteredProduct, i.registered_product_id)
                for i in sorted(claim.items, key=lambda i: i.id)
            ]
            if p is not None
        ]
        code = await session.scalar(select(ActivationCode.code).where(ActivationCode.claim_id == claim.id))
        lines.append(ClaimLine(claim, promotion, member, products, code))
    return lines


async def review_queue(
    session: AsyncSession, limit: int = 25, *, risky_first: bool = False
) -> tuple[int, list[ClaimLine]]:
    """Claims under review, oldest first (or the riskiest first): how many in all, and the first `limit`.

    Risky-first assesses every claim in review, so it is meant for queues of hundreds, not millions."""
    total = int(
        await session.scalar(select(func.count()).select_from(Claim).where(Claim.status == ClaimStatus.REVIEW)) or 0
    )
    query = (
        select(Claim)
        .where(Claim.status == ClaimStatus.REVIEW)
        .options(selectinload(Claim.items))
        .order_by(Claim.submitted_at, Claim.id)
    )
    rows = list((await session.scalars(query if risky_first else query.limit(limit))).all())
    risks = {claim.id: (await fraud.assess(session, claim.id, claim.submitted_at)).risk for claim in rows}
    if risky_first:
        rows = sorted(rows, key=lambda claim: -risks[claim.id])[:limit]  # stable: oldest first within a level
    lines = await _lines(session, rows)
    for line in lines:
        line.risk = risks[line.claim.id]
    return total, lines


async def next_unclaimed(
    session: AsyncSession, staff_user_id: int, now: datetime, hold: timedelta = PICK_HOLD
) -> Claim | None:
    """The oldest claim in review that no other staff member picked in the last `hold`; picks it."""
    rows = (
        await session.scalars(
            select(Claim).where(Claim.status == ClaimStatus.REVIEW).order_by(Claim.submitted_at, Claim.id).limit(200)
        )
    ).all()
    for claim in rows:
        # Two /next at once on PostgreSQL: the second skips the row the first is picking.
        if (
            await session.scalar(
                select(Claim.id)
                .where(Claim.id == claim.id, Claim.status == ClaimStatus.REVIEW)
                .with_for_update(skip_locked=True)
            )
            is None
        ):
            continue
        picked = await latest_decision_event(session, claim.id, ("picked",))
        if (
            picked is not None
            and picked.actor_user_id != staff_user_id
            and picked.at > now - hold
            and picked.at >= claim.submitted_at
        ):
            continue
        session.add(ClaimEvent(claim_id=claim.id, at=now, kind="picked", actor_user_id=staff_user_id, details={}))
        await session.flush()
        return claim
    return None


async def find(session: AsyncSession, query: str, limit: int = 15) -> list[ClaimLine]:
    """Claims by order ID, serial, @username, e-mail or Telegram user id; newest first."""
    text = query.strip()
    base = (
        select(Claim)
        .options(selectinload(Claim.items))
        .order_by(Claim.submitted_at.desc(), Claim.id.desc())
        .limit(limit)
    )
    if text.startswith("@") and len(text) > 1:
        members = select(Member.id).where(func.lower(Member.username) == text[1:].lower())
        found = (await session.scalars(base.where(Claim.member_id.in_(members)))).all()
    elif "@" in text:
        members = select(Member.id).where(func.lower(Member.email) == text.lower())
        found = (
            await session.scalars(
                base.where(or_(func.lower(Claim.email) == text.lower(), Claim.member_id.in_(members)))
            )
        ).all()
    else:
        serial = re.sub(r"\s+", "", text).upper()
        by_serial = (
            select(ClaimItem.claim_id)
            .join(RegisteredProduct, RegisteredProduct.id == ClaimItem.registered_product_id)
            .where(RegisteredProduct.serial == serial)
        )
        conditions = [Claim.order_id == text.lower(), Claim.id.in_(by_serial)]
        if text.isdigit() and len(text) <= 19:
            conditions.append(Claim.member_id.in_(select(Member.id).where(Member.telegram_user_id == int(text))))
        found = (await session.scalars(base.where(or_(*conditions)))).all()
    return await _lines(session, list(found))


@dataclass
class History:
    member: Member
    claims: list[ClaimLine]
    products: int


async def customer_history(session: AsyncSession, claim_id: int, limit: int = 15) -> History | None:
    """The claim's customer: their claims (newest first) and how many products they registered."""
    member_id = await session.scalar(select(Claim.member_id).where(Claim.id == claim_id))
    member = await session.get(Member, member_id) if member_id is not None else None
    if member is None:
        return None
    rows = (
        await session.scalars(
            select(Claim)
            .where(Claim.member_id == member.id)
            .options(selectinload(Claim.items))
            .order_by(Claim.submitted_at.desc(), Claim.id.desc())
            .limit(limit)
        )
    ).all()
    products = int(
        await session.scalar(
            select(func.count()).select_from(RegisteredProduct).where(RegisteredProduct.member_id == member.id)
        )
        or 0
    )
    return History(member, await _lines(session, list(rows)), products)


# ---------------------------------------------------------------- statistics


async def stats(session: AsyncSession, now: datetime) -> Stats:
    """Counts per state and promotion, median time to decision, codes left, failed messages."""
    statuses = [s.value for s in ClaimStatus]
    grouped = (
        await session.execute(
            select(Claim.promotion_id, Claim.status, func.count()).group_by(Claim.promotion_id, Claim.status)
        )
    ).all()
    per: dict[int, dict[str, int]] = {}
    for promotion_id, status, count in grouped:
        per.setdefault(promotion_id, dict.fromkeys(statuses, 0))[status] = int(count)
    promotions = (await session.scalars(select(Promotion).order_by(Promotion.starts_on, Promotion.id))).all()
    result: list[PromotionStats] = []
    totals = dict.fromkeys(statuses, 0)
    for promotion in promotions:
        counts = per.get(promotion.id, dict.fromkeys(statuses, 0))
        for status, count in counts.items():
            totals[status] = totals.get(status, 0) + count
        left = await codes.codes_left(session, promotion.id) if promotion.prize_kind == PrizeKind.DIGITAL_CODE else None
        result.append(PromotionStats(promotion, counts, left))
    durations = [
        (decided - submitted).total_seconds()
        for submitted, decided in (
            await session.execute(select(Claim.submitted_at, Claim.decided_at).where(Claim.decided_at.is_not(None)))
        ).all()
    ]
    median = timedelta(seconds=statistics.median(durations)) if durations else None
    oldest = await session.scalar(select(func.min(Claim.submitted_at)).where(Claim.status == ClaimStatus.REVIEW))
    failed = int(
        await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        )
        or 0
    )
    return Stats(result, totals, median, len(durations), now - oldest if oldest else None, failed)
