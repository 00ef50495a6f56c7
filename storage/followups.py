"""Nobody is left waiting: the customer hears at half the promised time, staff get a daily digest,
and a claim that passes its promise is put in front of staff again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, fulfilment, outbox
from storage.claims import expected_decision, promotion_country, queue_review_card
from storage.models import AuditEntry, Claim, ClaimStatus, Member, Promotion
from storage.texts import promotion_name
from storage.workdays import working_days_after

DUE_SOON = timedelta(hours=48)


def halfway(claim: Claim, promotion: Promotion) -> date:
    """The day half of the promised working days have passed."""
    days = (promotion.processing_days_max + 1) // 2
    return working_days_after(claim.submitted_at.date(), days, promotion_country(promotion))


async def _in_review(session: AsyncSession) -> list[tuple[Claim, Promotion]]:
    query = select(Claim, Promotion).join(Promotion, Promotion.id == Claim.promotion_id)
    rows = await session.execute(query.where(Claim.status == ClaimStatus.REVIEW).order_by(Claim.submitted_at))
    return [(claim, promotion) for claim, promotion in rows.tuples()]


async def queue_halfway_notices(session: AsyncSession, now: datetime) -> int:
    """Tells each customer once, at half the promised time, that their claim is being looked at."""
    sent = 0
    for claim, promotion in await _in_review(session):
        if claim.halfway_notified_at is not None or now.date() < halfway(claim, promotion):
            continue
        member = await session.get(Member, claim.member_id)
        if member is None or member.deleted_at is not None:
            continue
        expected = {"$date": expected_decision(claim.submitted_at, promotion).isoformat()}
        values = {
            "order_id": claim.order_id,
            "promotion": promotion_name(promotion, member.language),
            "expected": expected,
        }
        await outbox.enqueue(
            session,
            chat_id=member.chat_id,
            kind="followup",
            key="followups.halfway",
            language=member.language,
            values=values,
            now=now,
        )
        claim.halfway_notified_at = now
        sent += 1
    return sent


@dataclass
class Digest:
    waiting: int = 0
    oldest: Claim | None = None
    due_soon: list[tuple[Claim, date]] = field(default_factory=list)  # promise ends within 48 hours
    overdue: list[tuple[Claim, date]] = field(default_factory=list)


async def digest(session: AsyncSession, now: datetime) -> Digest:
    """The state of the review queue against the promises made to customers."""
    result = Digest()
    for claim, promotion in await _in_review(session):
        promised = expected_decision(claim.submitted_at, promotion)
        result.waiting += 1
        result.oldest = result.oldest or claim
        end_of_promise = datetime.combine(promised, datetime.max.time(), tzinfo=now.tzinfo)
        if end_of_promise < now:
            result.overdue.append((claim, promised))
        elif end_of_promise - now <= DUE_SOON:
            result.due_soon.append((claim, promised))
    return result


def _lines(claims: list[tuple[Claim, date]]) -> dict[str, Any]:
    """One digest line per claim (order ID and promised day), rendered in the staff's language."""
    items = [{"order_id": claim.order_id, "promised": {"$date": promised.isoformat()}} for claim, promised in claims]
    return {"$lines": {"key": "followups.digest_line", "items": items, "empty": "followups.digest_none"}}


async def queue_daily_digest(
    session: AsyncSession, now: datetime, staff_chat_id: int | None, language: str, hour: int
) -> bool:
    """Once a day after `hour` (UTC): the digest to the staff chat, and every claim that newly
    passed its promise posted again. Returns whether it was sent now."""
    if staff_chat_id is None or now.hour < hour:
        return False
    day = now.date().isoformat()
    done = select(AuditEntry.id).where(AuditEntry.action == "digest.sent", AuditEntry.subject == day)
    sent = await session.scalar(done.limit(1))
    if sent is not None:
        return False
    report = await digest(session, now)
    oldest_age = (now - report.oldest.submitted_at).days if report.oldest else 0
    values = {
        "waiting": report.waiting,
        "oldest": report.oldest.order_id if report.oldest else {"$key": "followups.digest_none"},
        "oldest_days": oldest_age,
        "due_soon": _lines(report.due_soon),
        "overdue": _lines(report.overdue),
    }
    await outbox.enqueue(
        session, chat_id=staff_chat_id, kind="digest", key="followups.digest", language=language, values=values, now=now
    )
    await fulfilment.queue_digest(session, now, staff_chat_id, language)  # the promises after approval
    for claim, _ in report.overdue:
        if claim.overdue_posted_at is None:
            await queue_review_card(session, claim, staff_chat_id, now)
            claim.overdue_posted_at = now
    details = {"waiting": report.waiting, "overdue": len(report.overdue)}
    await audit.record(session, now=now, actor_user_id=None, action="digest.sent", subject=day, details=details)
    return True
