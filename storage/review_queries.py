"""What staff look at: the review card's facts and checks, the queue, search, history, statistics.

Read-only except `next_unclaimed`, which records that a staff member picked a claim so that
two people typing /next at once get different claims.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import codes, eligibility, fraud
from storage.claims import COUNTED, same_email
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
    SerialAttempt,
)
from storage.review import DECISION_EVENTS

PICK_HOLD = timedelta(minutes=15)  # /next skips a claim another staff member picked this recently


@dataclass
class DecisionInfo:
    """Who decided a claim, how and when (from the claim and its latest decision event)."""

    status: str
    by_user_id: int | None
    by_name: str | None
    by_username: str | None
    at: datetime | None
    reason: str | None = None
    reason_code: str | None = None
    code: str | None = None


@dataclass
class Check:
    """One automatic check on the card; `key` is a locale-key suffix, `values` fill it."""

    key: str
    ok: bool
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class CardItem:
    item: ClaimItem
    product: RegisteredProduct
    checks: list[Check]


@dataclass
class PastDecision:
    """An earlier outcome of this claim, shown on the card of a later attempt."""

    attempt: int
    kind: str  # approved | missing_info | rejected | reopened
    at: datetime
    reason: str | None
    by_name: str | None
    by_user_id: int | None


@dataclass
class Card:
    claim: Claim
    promotion: Promotion
    member: Member
    items: list[CardItem]
    checks: list[Check]  # about the claim as a whole
    earlier: list[PastDecision]
    decision: DecisionInfo | None  # when the claim is no longer in review
    assessment: fraud.Assessment = field(default_factory=lambda: fraud.Assessment([]))


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


# ---------------------------------------------------------------- decisions


async def _latest_decision_event(
    session: AsyncSession, claim_id: int, kinds: tuple[str, ...] = DECISION_EVENTS
) -> ClaimEvent | None:
    query = (
        select(ClaimEvent)
        .where(ClaimEvent.claim_id == claim_id, ClaimEvent.kind.in_(kinds))
        .order_by(ClaimEvent.id.desc())
        .limit(1)
    )
    event: ClaimEvent | None = await session.scalar(query)
    return event


async def decision_info(session: AsyncSession, claim_id: int) -> DecisionInfo | None:
    """How the claim was decided (read fresh); None while it is in review."""
    claim = await session.get(Claim, claim_id, populate_existing=True)
    return await _decision_info(session, claim) if claim is not None else None


async def _decision_info(session: AsyncSession, claim: Claim) -> DecisionInfo | None:
    if claim.status == ClaimStatus.REVIEW:
        return None
    event = await _latest_decision_event(session, claim.id)
    details = dict(event.details or {}) if event else {}
    code = await session.scalar(select(ActivationCode.code).where(ActivationCode.claim_id == claim.id))
    return DecisionInfo(
        claim.status,
        claim.decided_by,
        details.get("by_name"),
        details.get("by_username"),
        claim.decided_at,
        claim.reason,
        claim.reason_code,
        code,
    )


async def claim_by_id(session: AsyncSession, claim_id: int) -> Claim | None:
    return await session.get(Claim, claim_id)


# ---------------------------------------------------------------- the card


async def _item_checks(
    session: AsyncSession, member: Member, promotion: Promotion, product: RegisteredProduct
) -> list[Check]:
    others = await session.scalar(
        select(func.count(func.distinct(SerialAttempt.member_id))).where(
            SerialAttempt.serial == product.serial,
            SerialAttempt.kind == "duplicate",
            SerialAttempt.member_id != member.id,
        )
    )
    checks = [Check("serial_owner", not others, {"serial": product.serial, "others": int(others or 0)})]
    checks.append(
        Check(
            "invoice_window",
            eligibility.invoice_date_in_window(product, promotion),
            {
                "date": product.purchase_date.isoformat(),
                "start": promotion.invoice_from.isoformat(),
                "end": promotion.invoice_to.isoformat(),
            },
        )
    )
    allowed = ", ".join(str(c) for c in promotion.eligible_countries or [])
    checks.append(
        Check(
            "country",
            eligibility.country_eligible(product, member.country, promotion),
            {"residence": member.country or "—", "purchase": product.purchase_country, "allowed": allowed},
        )
    )
    if product.invoice_sha256:
        shared = await session.scalar(
            select(func.count())
            .select_from(RegisteredProduct)
            .where(RegisteredProduct.invoice_sha256 == product.invoice_sha256, RegisteredProduct.member_id != member.id)
        )
        checks.append(Check("invoice_photo", not shared, {"others": int(shared or 0)}))
    return checks


async def _claim_checks(session: AsyncSession, claim: Claim, promotion: Promotion) -> list[Check]:
    email = claim.email.lower()
    here = await session.scalar(
        select(func.count(ClaimItem.id))
        .join(Claim, Claim.id == ClaimItem.claim_id)
        .where(Claim.promotion_id == promotion.id, same_email(email), Claim.status.in_(COUNTED))
    )
    everywhere = await session.scalar(select(func.count()).select_from(Claim).where(same_email(email)))
    checks = [
        Check(
            "email_claims",
            int(here or 0) <= promotion.redeem_limit_per_email,
            {
                "email": claim.email,
                "here": int(here or 0),
                "limit": promotion.redeem_limit_per_email,
                "all": int(everywhere or 0),
            },
        )
    ]
    hashes = [i.sn_photo_sha256 for i in claim.items if i.sn_photo_sha256]
    if hashes:
        reused = await session.scalar(
            select(func.count())
            .select_from(ClaimItem)
            .where(ClaimItem.sn_photo_sha256.in_(hashes), ClaimItem.claim_id != claim.id)
        )
        checks.append(Check("sn_photo", not reused, {"others": int(reused or 0)}))
    return checks


async def _past_decisions(session: AsyncSession, claim: Claim) -> list[PastDecision]:
    """Earlier outcomes, attempt by attempt; the current decision (if any) is not among them."""
    events = (
        await session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.id))
    ).all()
    attempt, past = 1, []
    for event in events:
        details = dict(event.details or {})
        if event.kind == "resubmitted":
            attempt += 1
        elif event.kind in (*DECISION_EVENTS, "reopened"):
            past.append(
                PastDecision(
                    attempt, event.kind, event.at, details.get("reason"), details.get("by_name"), event.actor_user_id
                )
            )
    if claim.status != ClaimStatus.REVIEW and past and past[-1].kind in DECISION_EVENTS:
        past.pop()
    return past


async def card(session: AsyncSession, claim_id: int) -> Card | None:
    """Everything the review card shows, checks evaluated now."""
    claim = await session.scalar(select(Claim).where(Claim.id == claim_id).options(selectinload(Claim.items)))
    if claim is None:
        return None
    promotion = await session.get(Promotion, claim.promotion_id)
    member = await session.get(Member, claim.member_id)
    assert promotion is not None and member is not None
    items: list[CardItem] = []
    for item in sorted(claim.items, key=lambda i: i.id):
        product = await session.get(RegisteredProduct, item.registered_product_id)
        if product is not None:
            items.append(CardItem(item, product, await _item_checks(session, member, promotion, product)))
    assessment = await fraud.assess(session, claim.id, claim.submitted_at)  # velocity: the day before it came in
    return Card(
        claim,
        promotion,
        member,
        items,
        await _claim_checks(session, claim, promotion),
        await _past_decisions(session, claim),
        await _decision_info(session, claim),
        assessment,
    )


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
        picked = await _latest_decision_event(session, claim.id, ("picked",))
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
