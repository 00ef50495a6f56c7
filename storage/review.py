"""Staff decisions: exactly one wins; the code and the customer's message commit with it.

Also: reopening a decided claim (admins), and where the claim's review card lives in the staff
chat. Rejection reasons (built-in and canned, and rejecting with one) are storage/reasons.py;
the low-codes warning an approval may raise is storage/code_stock.py.

Decisions, written down:

* **Reopen.** An admin may send a decided claim back to review. A code already given to the
  claim stays with it (the customer has seen it; it is never handed to anyone else), and a new
  approval gives the same code again. The customer gets a short note that the claim is being
  looked at again, and a fresh review card goes to the staff chat.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import audit, codes, mail_outbox, outbox
from storage.code_stock import StaffNotice, warn_low_codes
from storage.models import (
    ActivationCode,
    Claim,
    ClaimEvent,
    ClaimStatus,
    Member,
    PrizeKind,
    Promotion,
)
from storage.texts import promotion_name
from storage.workdays import add_working_days

CASHBACK_WORKING_DAYS = 30
DECISION_EVENTS = ("approved", "missing_info", "rejected")


class DecisionError(enum.StrEnum):
    NOT_FOUND = "not_found"
    ALREADY_DECIDED = "already_decided"
    NO_CODES_LEFT = "no_codes_left"
    CODE_TAKEN = "code_taken"
    NOT_DECIDED = "not_decided"
    UNKNOWN_REASON = "unknown_reason"
    BAD_CODE = "bad_code"


class DecisionRefused(Exception):
    def __init__(self, error: DecisionError, claim: Claim | None = None) -> None:
        super().__init__(error.value)
        self.error = error
        self.claim = claim  # for ALREADY_DECIDED: who decided, how and when (readable after the rollback)
        self.claim_id = claim.id if claim is not None else None


def _already_decided(session: AsyncSession, claim: Claim) -> DecisionRefused:
    """The refusal, with the claim detached so the caller's rollback does not expire it."""
    session.expunge(claim)
    return DecisionRefused(DecisionError.ALREADY_DECIDED, claim)


@dataclass(frozen=True)
class Actor:
    """Who acts, as staff see them named on cards ("decided by …")."""

    user_id: int
    name: str | None = None
    username: str | None = None

    def details(self) -> dict[str, Any]:
        return {"by_name": self.name, "by_username": self.username}


@dataclass
class Decision:
    claim: Claim
    promotion: Promotion
    code: str | None = None
    codes_left: int | None = None  # digital-code promotions: codes left after this approval


async def claim_by_order(session: AsyncSession, order_id: str) -> Claim:
    """The claim (with its items) by its order ID; NOT_FOUND if there is none."""
    claim = await session.scalar(
        select(Claim).where(Claim.order_id == order_id.strip().lower()).options(selectinload(Claim.items))
    )
    if claim is None:
        raise DecisionRefused(DecisionError.NOT_FOUND)
    return claim


async def _take(
    session: AsyncSession, claim: Claim, status: ClaimStatus, staff_user_id: int, reason: str | None, now: datetime
) -> None:
    """Compare-and-set on the status: of two staff deciding at once, only one row update lands."""
    result = await session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == ClaimStatus.REVIEW)
        .values(status=status, decided_by=staff_user_id, decided_at=now, reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(claim)
        raise _already_decided(session, claim)
    await session.refresh(claim)


def _event_details(actor: Actor | None, **details: Any) -> dict[str, Any]:
    return {**(actor.details() if actor else {}), **details}


async def approve(
    session: AsyncSession,
    order_id: str,
    staff_user_id: int,
    now: datetime,
    code: str | None = None,
    *,
    actor: Actor | None = None,
    notice: StaffNotice | None = None,
) -> Decision:
    """Approves, assigns the prize (code) and queues the customer's message, all in this transaction.

    NO_CODES_LEFT and CODE_TAKEN are raised after the status changed: the caller's transaction
    (or its savepoint, as staff/decisions.py runs it) rolls back, so the claim stays in review.
    """
    claim = await claim_by_order(session, order_id)
    if claim.status != ClaimStatus.REVIEW:
        raise _already_decided(session, claim)
    promotion = await session.get(Promotion, claim.promotion_id)
    member = await session.get(Member, claim.member_id)
    assert promotion is not None and member is not None
    if (
        code is not None
        and promotion.prize_kind == PrizeKind.DIGITAL_CODE
        and not re.fullmatch(promotion.code_pattern, code.strip().upper())
    ):
        raise DecisionRefused(DecisionError.BAD_CODE, claim)
    await _take(session, claim, ClaimStatus.APPROVED, staff_user_id, None, now)
    assigned: str | None = None
    left: int | None = None
    if promotion.prize_kind == PrizeKind.DIGITAL_CODE:
        # After a reopen the claim keeps the code it was given: the customer has seen it.
        assigned = await session.scalar(select(ActivationCode.code).where(ActivationCode.claim_id == claim.id))
        if assigned is None:
            assigned = await (
                codes.assign_given(session, promotion.id, claim.id, code, now)
                if code
                else codes.assign_next(session, promotion.id, claim.id, now)
            )
            if assigned is None:
                raise DecisionRefused(DecisionError.CODE_TAKEN if code else DecisionError.NO_CODES_LEFT, claim)
            await audit.record(
                session,
                now=now,
                actor_user_id=staff_user_id,
                action="code.assigned",
                subject=claim.order_id,
                details={"promotion": promotion.slug, "given": bool(code)},
            )
        left = await codes.codes_left(session, promotion.id)
        await warn_low_codes(session, promotion, left, notice, now)
    name = promotion_name(promotion, member.language)
    values: dict[str, object] = {"promotion": name, "order_id": claim.order_id, "landing": promotion.landing_url or ""}
    if promotion.prize_kind == PrizeKind.DIGITAL_CODE:
        key, values["code"] = "decisions.approved_code", assigned
    elif promotion.prize_kind == PrizeKind.CASHBACK:
        key = "decisions.approved_cashback"
        pay_by = add_working_days(now.date(), CASHBACK_WORKING_DAYS)
        values |= {
            "amount": {"$money": [str(promotion.cashback_amount), promotion.currency]},
            "pay_by": {"$date": pay_by.isoformat()},
        }  # in the customer's locale
    else:
        key = "decisions.approved_physical"
    await outbox.enqueue(
        session, chat_id=member.chat_id, kind="decision", key=key, language=member.language, values=values, now=now
    )
    await mail_outbox.copy_decision(session, member, key, values, now)
    session.add(
        ClaimEvent(
            claim_id=claim.id,
            at=now,
            kind="approved",
            actor_user_id=staff_user_id,
            details=_event_details(actor, **({"code": assigned} if assigned else {})),
        )
    )
    await audit.record(
        session,
        now=now,
        actor_user_id=staff_user_id,
        action="claim.approved",
        subject=claim.order_id,
        details={"code_assigned": bool(assigned)},
    )
    return Decision(claim, promotion, assigned, left)


async def reject(
    session: AsyncSession,
    order_id: str,
    staff_user_id: int,
    reason: str,
    now: datetime,
    *,
    fixable: bool = True,
    reason_code: str | None = None,
    customer_reason: str | dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> Decision:
    """Sends the claim back: fixable (missing information, the customer may redeem again) or final.

    `reason` is stored on the claim (the text the customer reads in /status); `customer_reason`
    is what the message carries, e.g. {"$key": "reasons.x"} rendered in their language at send time.
    """
    claim = await claim_by_order(session, order_id)
    promotion = await session.get(Promotion, claim.promotion_id)
    member = await session.get(Member, claim.member_id)
    assert promotion is not None and member is not None
    await _take(
        session, claim, ClaimStatus.MISSING_INFO if fixable else ClaimStatus.REJECTED, staff_user_id, reason, now
    )
    claim.reason_code = reason_code
    values = {
        "promotion": promotion_name(promotion, member.language),
        "order_id": claim.order_id,
        "reason": customer_reason if customer_reason is not None else reason,
    }
    buttons: outbox.Buttons | None = [[("status.redeem_again", "again", claim.order_id)]] if fixable else None
    await outbox.enqueue(
        session,
        chat_id=member.chat_id,
        kind="decision",
        key="decisions.missing_info" if fixable else "decisions.rejected",
        language=member.language,
        values=values,
        buttons=buttons,
        now=now,
    )
    await mail_outbox.copy_decision(
        session, member, "decisions.missing_info" if fixable else "decisions.rejected", values, now
    )
    kind = "missing_info" if fixable else "rejected"
    session.add(
        ClaimEvent(
            claim_id=claim.id,
            at=now,
            kind=kind,
            actor_user_id=staff_user_id,
            details=_event_details(actor, reason=reason, reason_code=reason_code),
        )
    )
    await audit.record(
        session,
        now=now,
        actor_user_id=staff_user_id,
        action="claim.rejected",
        subject=claim.order_id,
        details={"reason": reason, "reason_code": reason_code, "fixable": fixable},
    )
    await session.flush()
    return Decision(claim, promotion)


# ---------------------------------------------------------------- reopen, refusals, cards


async def reopen(
    session: AsyncSession,
    order_id: str,
    admin_user_id: int,
    now: datetime,
    *,
    actor: Actor | None = None,
    review_chat_id: int | None = None,
) -> Claim:
    """Sends a decided claim back to review (admins only; the caller checks), audited.

    The customer is told, briefly, that the claim is being looked at again; a new review card is
    queued for the staff chat. A code the claim already holds stays with it.
    """
    claim = await claim_by_order(session, order_id)
    if claim.status == ClaimStatus.REVIEW:
        raise DecisionRefused(DecisionError.NOT_DECIDED, claim)
    previous = {
        "status": claim.status,
        "decided_by": claim.decided_by,
        "decided_at": claim.decided_at.isoformat() if claim.decided_at else None,
        "reason": claim.reason,
        "reason_code": claim.reason_code,
    }
    result = await session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == claim.status)
        .values(status=ClaimStatus.REVIEW, decided_by=None, decided_at=None, reason=None, reason_code=None)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(claim)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise DecisionRefused(DecisionError.NOT_DECIDED, claim)  # someone else reopened it just now
    promotion = await session.get(Promotion, claim.promotion_id)
    member = await session.get(Member, claim.member_id)
    assert promotion is not None and member is not None
    session.add(
        ClaimEvent(
            claim_id=claim.id,
            at=now,
            kind="reopened",
            actor_user_id=admin_user_id,
            details=_event_details(actor, previous=previous),
        )
    )
    await audit.record(
        session,
        now=now,
        actor_user_id=admin_user_id,
        action="claim.reopened",
        subject=claim.order_id,
        details={"previous_status": previous["status"]},
    )
    values = {"promotion": promotion_name(promotion, member.language), "order_id": claim.order_id}
    await outbox.enqueue(
        session,
        chat_id=member.chat_id,
        kind="decision",
        key="staff.customer_reopened",
        language=member.language,
        values=values,
        now=now,
    )
    if review_chat_id is not None:
        await outbox.enqueue_kind(
            session,
            chat_id=review_chat_id,
            kind="review_card",
            payload={"claim_id": claim.id, "attempt": claim.attempt},
            now=now,
        )
    return claim


async def record_refusal(
    session: AsyncSession, order_id: str, staff_user_id: int, error: DecisionError, action: str, now: datetime
) -> None:
    """A decision that did not happen (already decided, no codes…) still goes to the audit log."""
    await audit.record(
        session,
        now=now,
        actor_user_id=staff_user_id,
        action="claim.decision_refused",
        subject=order_id[:120],
        details={"attempted": action, "error": error.value},
    )


async def remember_card(
    session: AsyncSession, claim_id: int, chat_id: int, message_id: int, *, replace: bool = True
) -> None:
    """Where the claim's review card is, so a decision can edit it."""
    claim = await session.get(Claim, claim_id)
    if claim is not None and (replace or claim.card_message_id is None):
        claim.card_chat_id, claim.card_message_id = chat_id, message_id
