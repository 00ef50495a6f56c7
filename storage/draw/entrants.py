"""Who takes part in a draw of a promotion, checked at the moment it matters; and the pieces every
step of a draw shares (the promotion looked up and locked, refusals, the staff announcement)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import eligibility, outbox
from storage.models import Claim, ClaimStatus, Draw, Member, Promotion, RegisteredProduct
from storage.texts import in_language

MAX_WINNERS = 100  # so the announcement, which lists every winner and reserve, fits one message
MAX_RESERVES = 100


class DrawError(enum.StrEnum):
    UNKNOWN_PROMOTION = "unknown_promotion"
    NO_LUCKY_DRAW = "no_lucky_draw"  # the promotion has no lucky draw
    BAD_COUNT = "bad_count"  # winners outside 1..MAX_WINNERS, or reserves outside 0..MAX_RESERVES
    ALREADY_COMMITTED = "already_committed"  # an open commitment exists: draw or cancel it first
    NOTHING_COMMITTED = "nothing_committed"
    NO_ENTRANTS = "no_entrants"


class DrawRefused(Exception):
    def __init__(self, error: DrawError, draw: Draw | None = None) -> None:
        super().__init__(error.value)
        self.error = error
        self.draw = draw


@dataclass
class Entrants:
    order_ids: list[str]  # sorted
    claims: dict[str, Claim]  # by order id
    excluded: dict[str, list[str]] = field(default_factory=dict)  # order id -> why (opted in and approved, but out)


def prize_text(promotion: Promotion, language: str) -> str:
    """The lucky draw's prize in the language, else in English (storage.texts picks)."""
    return in_language(promotion.draw_prize, language)


async def find_promotion(session: AsyncSession, slug: str, *, lock: bool = False) -> Promotion:
    query = select(Promotion).where(Promotion.slug == slug.strip().lower())
    if lock:  # serializes commits and draws of one promotion (SQLite: BEGIN IMMEDIATE does)
        query = query.with_for_update()
    promotion = await session.scalar(query)
    if promotion is None:
        raise DrawRefused(DrawError.UNKNOWN_PROMOTION)
    return promotion


async def open_draw(session: AsyncSession, promotion_id: int) -> Draw | None:
    """The promotion's commitment not drawn yet, if any."""
    query = select(Draw).where(Draw.promotion_id == promotion_id, Draw.drawn_at.is_(None))
    row: Draw | None = await session.scalar(query.order_by(Draw.id.desc()).limit(1))
    return row


_PERIOD_REASONS = {
    eligibility.Reason.NOT_RUNNING,
    eligibility.Reason.DEADLINE_PASSED,
    eligibility.Reason.PAUSED,
    eligibility.Reason.ENDED,
}  # a draw usually follows the period; a pause or an early end stops new claims, not the draw


def _ever_won(row: Draw) -> set[str]:
    """Order IDs that won `row`: its drawn winners and the reserves called in since."""
    won = {str(order_id) for order_id in row.winners or []}
    answers = (row.answers or {}).items()
    won.update(
        order_id for order_id, entry in answers if entry.get("rank") is not None and entry.get("state") != "skipped"
    )
    return won


async def won_before(session: AsyncSession, promotion: Promotion, *, besides: int | None = None) -> set[str]:
    """Order IDs that won a drawn draw of `promotion` (other than draw `besides`)."""
    query = select(Draw).where(Draw.promotion_id == promotion.id, Draw.drawn_at.is_not(None))
    if besides is not None:
        query = query.where(Draw.id != besides)
    won: set[str] = set()
    for row in (await session.scalars(query)).all():
        won |= _ever_won(row)
    return won


async def why_out(session: AsyncSession, claim: Claim, promotion: Promotion, now: datetime, won: set[str]) -> list[str]:
    """Why an approved, opted-in claim is no entry now (empty: it is one). Items must be loaded."""
    why: list[str] = []
    member = await session.get(Member, claim.member_id)
    if member is None or member.deleted_at is not None:
        why.append("member_deleted")
    if claim.order_id in won:
        why.append("already_won")
    if not claim.items:
        why.append("product_missing")
    for item in claim.items:
        product = await session.get(RegisteredProduct, item.registered_product_id)
        country = member.country if member else None
        found = eligibility.reasons(product, country, promotion, now) if product is not None else None
        for reason in ["product_missing"] if found is None else [r.value for r in found if r not in _PERIOD_REASONS]:
            if reason not in why:
                why.append(reason)
    return why


async def entrants(session: AsyncSession, promotion: Promotion, now: datetime) -> Entrants:
    """The claims that take part if the draw ran now, and the opted-in ones left out with why."""
    earlier_winners = await won_before(session, promotion)
    query = (
        select(Claim)
        .where(
            Claim.promotion_id == promotion.id, Claim.status == ClaimStatus.APPROVED, Claim.lucky_draw_opt_in.is_(True)
        )
        .options(selectinload(Claim.items))
        .order_by(Claim.order_id)
    )
    result = Entrants([], {})
    for claim in (await session.scalars(query)).all():
        why = await why_out(session, claim, promotion, now, earlier_winners)
        if why:
            result.excluded[claim.order_id] = why
        else:
            result.order_ids.append(claim.order_id)
            result.claims[claim.order_id] = claim
    result.order_ids.sort()
    return result


async def announce(
    session: AsyncSession,
    key: str,
    values: dict[str, Any],
    staff_chat_id: int | None,
    staff_language: str,
    now: datetime,
) -> tuple[str, dict[str, Any]]:
    """The staff chat hears of each step through the outbox, committed with the step."""
    if staff_chat_id is not None:
        await outbox.enqueue(
            session,
            chat_id=staff_chat_id,
            kind="staff_notice",
            key=key,
            language=staff_language,
            values=values,
            now=now,
        )
    return key, values
