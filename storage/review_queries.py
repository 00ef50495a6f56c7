"""What staff look at on one claim: the review card's facts and checks, and how it was decided.

Read-only. The lists of claims (queue, search, a customer's history) and the statistics are
storage/review_lists.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import eligibility, fraud, fulfilment, support
from storage.claims import COUNTED, same_email
from storage.models import (
    ActivationCode,
    Claim,
    ClaimEvent,
    ClaimItem,
    ClaimStatus,
    Fulfilment,
    Member,
    Promotion,
    RegisteredProduct,
    SerialAttempt,
)
from storage.review import DECISION_EVENTS
from storage.support_models import SupportMessage


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
    after: dict[str, Fulfilment] = field(default_factory=dict)  # purpose -> the prize's fulfilment (cashback, parcels)
    support: list[SupportMessage] = field(default_factory=list)  # the customer's latest support messages
    support_total: int = 0


# ---------------------------------------------------------------- decisions


async def latest_decision_event(
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
    event = await latest_decision_event(session, claim.id)
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
        {purpose: row for (_, purpose), row in (await fulfilment.of_claims(session, [claim.id])).items()},
        *await support.recent_messages(session, member.id),
    )
