"""An admin's controls over a running promotion: pause, resume, end early, extend the deadline.

Each act is one change of the promotion's row plus its audit entry, in the caller's transaction.
Customers see the effect at once: `eligibility.reasons` gives PAUSED or ENDED for every product,
so /redeem offers nothing and /promotions says why (storage/eligibility.py decides; this module
only records).

Decisions, written down:

* **Pause** has an optional day from which claims are accepted again (`paused_until`); without
  one the promotion stays paused until an admin resumes it. Pausing a paused promotion moves
  the day. A pause does not move the period or the deadline.
* **End** is final: an ended promotion cannot be paused, resumed or extended (load it again
  under a new slug to run it once more). Claims already sent stay in review, and one sent back
  for missing information can still be fixed (storage/resubmission.py): neither is a new claim.
* **Extend** sets the redemption deadline to a later day than the last day claims are accepted
  now (the deadline, or the end of the period without one); never earlier.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, eligibility
from storage.models import Promotion


class ControlRefused(enum.StrEnum):
    """Why an act was refused; the value is a locale-key suffix."""

    UNKNOWN_PROMOTION = "unknown_promotion"
    ENDED = "already_ended"
    NOT_PAUSED = "not_paused"
    DAY_PASSED = "day_passed"  # a pause until a day that is not after today
    NOT_LATER = "not_later"  # an extension to a day not after the current last day


class Refused(Exception):
    def __init__(self, why: ControlRefused) -> None:
        super().__init__(why.value)
        self.why = why


async def by_slug(session: AsyncSession, slug: str) -> Promotion:
    """The promotion, locked for the change; Refused(UNKNOWN_PROMOTION) when there is none."""
    query = select(Promotion).where(Promotion.slug == slug.strip().lower()).with_for_update()
    promotion = await session.scalar(query)
    if promotion is None:
        raise Refused(ControlRefused.UNKNOWN_PROMOTION)
    return promotion


async def pause(session: AsyncSession, slug: str, until: date | None, *, now: datetime, actor: int | None) -> Promotion:
    promotion = await by_slug(session, slug)
    if eligibility.is_ended(promotion):
        raise Refused(ControlRefused.ENDED)
    if until is not None and until <= eligibility.promotion_day(promotion, now):
        raise Refused(ControlRefused.DAY_PASSED)
    promotion.paused_at, promotion.paused_until = now, until
    await audit.record(
        session,
        now=now,
        actor_user_id=actor,
        action="promotion.paused",
        subject=promotion.slug,
        details={"until": until.isoformat() if until else None},
    )
    return promotion


async def resume(session: AsyncSession, slug: str, *, now: datetime, actor: int | None) -> Promotion:
    promotion = await by_slug(session, slug)
    if eligibility.is_ended(promotion):
        raise Refused(ControlRefused.ENDED)
    if not eligibility.is_paused(promotion, now):
        raise Refused(ControlRefused.NOT_PAUSED)
    details = {"paused_at": promotion.paused_at.isoformat() if promotion.paused_at else None}
    promotion.paused_at = promotion.paused_until = None
    await audit.record(
        session, now=now, actor_user_id=actor, action="promotion.resumed", subject=promotion.slug, details=details
    )
    return promotion


async def end(session: AsyncSession, slug: str, *, now: datetime, actor: int | None) -> Promotion:
    promotion = await by_slug(session, slug)
    if eligibility.is_ended(promotion):
        raise Refused(ControlRefused.ENDED)
    promotion.ended_at = now
    await audit.record(session, now=now, actor_user_id=actor, action="promotion.ended", subject=promotion.slug)
    return promotion


async def extend(session: AsyncSession, slug: str, deadline: date, *, now: datetime, actor: int | None) -> Promotion:
    promotion = await by_slug(session, slug)
    if eligibility.is_ended(promotion):
        raise Refused(ControlRefused.ENDED)
    before = eligibility.last_redeem_day(promotion)
    if deadline <= before:
        raise Refused(ControlRefused.NOT_LATER)
    promotion.redeem_deadline = deadline
    await audit.record(
        session,
        now=now,
        actor_user_id=actor,
        action="promotion.extended",
        subject=promotion.slug,
        details={"from": before.isoformat(), "to": deadline.isoformat()},
    )
    return promotion


async def record_file_loaded(
    session: AsyncSession, kind: str, file_name: str, summary: dict[str, object], *, now: datetime, actor: int | None
) -> None:
    """The audit entry of a promotions or catalogue file loaded from the chat."""
    await audit.record(
        session,
        now=now,
        actor_user_id=actor,
        action=f"{kind}.loaded",
        subject=file_name,
        details=summary,
    )
