"""Staff decisions: exactly one wins; the code and the customer's message commit with it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import audit, codes, outbox
from storage.models import Claim, ClaimEvent, ClaimStatus, Member, PrizeKind, Promotion
from storage.workdays import add_working_days

CASHBACK_WORKING_DAYS = 30


class DecisionError(enum.StrEnum):
    NOT_FOUND = "not_found"
    ALREADY_DECIDED = "already_decided"
    NO_CODES_LEFT = "no_codes_left"
    CODE_TAKEN = "code_taken"
    NOT_DECIDED = "not_decided"


class DecisionRefused(Exception):
    def __init__(self, error: DecisionError, claim: Claim | None = None) -> None:
        super().__init__(error.value)
        self.error = error
        self.claim = claim  # for ALREADY_DECIDED: who decided, how and when


@dataclass
class Decision:
    claim: Claim
    promotion: Promotion
    code: str | None = None


def promotion_name(promotion: Promotion, language: str) -> str:
    names = promotion.names or {}
    return str(names.get(language) or names.get("en") or promotion.slug)


async def _claim(session: AsyncSession, order_id: str) -> Claim:
    claim = await session.scalar(select(Claim).where(Claim.order_id == order_id.strip().lower()).options(selectinload(Claim.items)))
    if claim is None:
        raise DecisionRefused(DecisionError.NOT_FOUND)
    return claim


async def _take(session: AsyncSession, claim: Claim, status: ClaimStatus, staff_user_id: int, reason: str | None, now: datetime) -> None:
    """Compare-and-set on the status: of two staff deciding at once, only one row update lands."""
    result = await session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == ClaimStatus.REVIEW)
        .values(status=status, decided_by=staff_user_id, decided_at=now, reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(claim)
        raise DecisionRefused(DecisionError.ALREADY_DECIDED, claim)
    await session.refresh(claim)


async def approve(session: AsyncSession, order_id: str, staff_user_id: int, now: datetime, code: str | None = None) -> Decision:
    """Approves, assigns the prize (code) and queues the customer's message, all in this transaction."""
    claim = await _claim(session, order_id)
    if claim.status != ClaimStatus.REVIEW:
        raise DecisionRefused(DecisionError.ALREADY_DECIDED, claim)
    promotion = await session.get(Promotion, claim.promotion_id)
    member = await session.get(Member, claim.member_id)
    assert promotion is not None and member is not None
    await _take(session, claim, ClaimStatus.APPROVED, staff_user_id, None, now)
    assigned: str | None = None
    if promotion.prize_kind == PrizeKind.DIGITAL_CODE:
        assigned = await (codes.assign_given(session, promotion.id, claim.id, code, now) if code else codes.assign_next(session, promotion.id, claim.id, now))
        if assigned is None:
            raise DecisionRefused(DecisionError.CODE_TAKEN if code else DecisionError.NO_CODES_LEFT, claim)
    name = promotion_name(promotion, member.language)
    values: dict[str, object] = {"promotion": name, "order_id": claim.order_id, "landing": promotion.landing_url or ""}
    if promotion.prize_kind == PrizeKind.DIGITAL_CODE:
        key, values["code"] = "decisions.approved_code", assigned
    elif promotion.prize_kind == PrizeKind.CASHBACK:
        key = "decisions.approved_cashback"
        values |= {"amount": f"{promotion.cashback_amount} {promotion.currency}", "pay_by": add_working_days(now.date(), CASHBACK_WORKING_DAYS).isoformat()}
    else:
        key = "decisions.approved_physical"
    await outbox.enqueue(session, chat_id=member.chat_id, kind="decision", key=key, language=member.language, values=values, now=now)
    session.add(ClaimEvent(claim_id=claim.id, at=now, kind="approved", actor_user_id=staff_user_id, details={"code": assigned} if assigned else {}))
    await audit.record(session, now=now, actor_user_id=staff_user_id, action="claim.approved", subject=claim.order_id, details={"code_assigned": bool(assigned)})
    return Decision(claim, promotion, assigned)


async def reject(session: AsyncSession, order_id: str, staff_user_id: int, reason: str, now: datetime, *, fixable: bool = True) -> Decision:
    """Sends the claim back: fixable (missing information, the customer may redeem again) or final."""
    claim = await _claim(session, order_id)
    promotion = await session.get(Promotion, claim.promotion_id)
    member = await session.get(Member, claim.member_id)
    assert promotion is not None and member is not None
    await _take(session, claim, ClaimStatus.MISSING_INFO if fixable else ClaimStatus.REJECTED, staff_user_id, reason, now)
    values = {"promotion": promotion_name(promotion, member.language), "order_id": claim.order_id, "reason": reason}
    buttons = [[("status.redeem_again", f"g:again:{claim.order_id}")]] if fixable else None
    await outbox.enqueue(session, chat_id=member.chat_id, kind="decision", key="decisions.missing_info" if fixable else "decisions.rejected", language=member.language, values=values, buttons=buttons, now=now)
    session.add(ClaimEvent(claim_id=claim.id, at=now, kind="missing_info" if fixable else "rejected", actor_user_id=staff_user_id, details={"reason": reason}))
    await audit.record(session, now=now, actor_user_id=staff_user_id, action="claim.rejected", subject=claim.order_id, details={"reason": reason, "fixable": fixable})
    return Decision(claim, promotion)

