"""Staff decisions: exactly one wins; the code and the customer's message commit with it.

Also: rejection reasons (the guide's built-in ones and the canned ones staff add), reopening a
decided claim (admins), and where the claim's review card lives in the staff chat.

Decisions, written down:

* **Reasons.** A built-in reason is a locale key `reasons.<code>`; the customer's message carries
  `{"$key": "reasons.<code>"}` so the outbox renders it in the customer's language at send time.
  A canned reason (added by staff, stored in `canned_reasons`) has one text per language and is
  resolved in the customer's language when the decision is made. Free text goes as typed.
  `Claim.reason` keeps the text the customer saw (their language at decision time), so /status
  and "Redeem again" repeat it; `Claim.reason_code` keeps the code.
* **Fixable or final.** Each reason says whether it is missing information (the customer may
  redeem again) or final (not qualified). Free text is fixable unless staff say it is final.
* **Reopen.** An admin may send a decided claim back to review. A code already given to the
  claim stays with it (the customer has seen it; it is never handed to anyone else), and a new
  approval gives the same code again. The customer gets a short note that the claim is being
  looked at again, and a fresh review card goes to the staff chat.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import audit, codes, outbox
from storage.models import (
    ActivationCode,
    AuditEntry,
    CannedReason,
    Claim,
    ClaimEvent,
    ClaimStatus,
    Member,
    PrizeKind,
    Promotion,
)
from storage.texts import in_language, promotion_name
from storage.workdays import add_working_days

CASHBACK_WORKING_DAYS = 30
DECISION_EVENTS = ("approved", "missing_info", "rejected")

# The guide's reasons: code -> fixable (missing information, redeem again) or final (not qualified).
BUILTIN_REASONS: dict[str, bool] = {
    "missing_proof": True,  # missing purchase proof
    "invoice_no_product": True,  # the invoice does not show the product name
    "sn_on_package": True,  # S/N photo taken of the package, not the product
    "unreadable_photo": True,
    "invoice_date_outside": False,  # invoice date outside the promotion's period: not qualified
}
REASON_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")  # short enough for callback_data
MAX_REASON_TEXT = 500

Label = Callable[[str, str], str]  # (language, locale key) -> text: the bot's translator


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


@dataclass(frozen=True)
class StaffNotice:
    """Where and in which language staff are warned (low codes), and the threshold."""

    chat_id: int | None
    language: str
    low_codes_warning: int


@dataclass
class Decision:
    claim: Claim
    promotion: Promotion
    code: str | None = None
    codes_left: int | None = None  # digital-code promotions: codes left after this approval


async def _claim(session: AsyncSession, order_id: str) -> Claim:
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


async def _warn_low_codes(
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
    claim = await _claim(session, order_id)
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
        await _warn_low_codes(session, promotion, left, notice, now)
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
    customer_reason: str | dict[str, str] | None = None,
    actor: Actor | None = None,
) -> Decision:
    """Sends the claim back: fixable (missing information, the customer may redeem again) or final.

    `reason` is stored on the claim (the text the customer reads in /status); `customer_reason`
    is what the message carries, e.g. {"$key": "reasons.x"} rendered in their language at send time.
    """
    claim = await _claim(session, order_id)
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


# ---------------------------------------------------------------- reasons


@dataclass(frozen=True)
class ReasonOption:
    code: str
    fixable: bool
    builtin: bool
    texts: dict[str, str]  # canned reasons; a built-in one is the locale key reasons.<code>


class ReasonError(enum.StrEnum):
    BAD_CODE = "bad_code"
    EXISTS = "exists"
    NO_TEXT = "no_text"
    TOO_LONG = "too_long"
    NOT_FOUND = "not_found"


class ReasonRefused(Exception):
    def __init__(self, error: ReasonError) -> None:
        super().__init__(error.value)
        self.error = error


def canned_text(texts: dict[str, Any], language: str) -> str:
    """A canned reason in `language`, else English, else any language it has."""
    return in_language(texts, language, default=str(next(iter(texts.values()), "")))


async def reason_options(session: AsyncSession) -> list[ReasonOption]:
    """The built-in reasons first, then the canned ones in the order they were added."""
    options = [ReasonOption(code, fixable, True, {}) for code, fixable in BUILTIN_REASONS.items()]
    canned = (await session.scalars(select(CannedReason).order_by(CannedReason.id))).all()
    options += [
        ReasonOption(c.code, c.fixable, False, {str(k): str(v) for k, v in (c.texts or {}).items()}) for c in canned
    ]
    return options


async def find_reason(session: AsyncSession, code: str) -> ReasonOption | None:
    code = code.strip().lower()
    if code in BUILTIN_REASONS:
        return ReasonOption(code, BUILTIN_REASONS[code], True, {})
    canned = await session.scalar(select(CannedReason).where(CannedReason.code == code))
    if canned is None:
        return None
    return ReasonOption(canned.code, canned.fixable, False, {str(k): str(v) for k, v in (canned.texts or {}).items()})


async def add_reason(
    session: AsyncSession, code: str, texts: dict[str, str], fixable: bool, staff_user_id: int, now: datetime
) -> ReasonOption:
    """Adds a canned reason with its text per language (at least one)."""
    code = code.strip().lower()
    if not REASON_CODE.fullmatch(code):
        raise ReasonRefused(ReasonError.BAD_CODE)
    texts = {lang: text.strip() for lang, text in texts.items() if text.strip()}
    if not texts:
        raise ReasonRefused(ReasonError.NO_TEXT)
    if any(len(text) > MAX_REASON_TEXT for text in texts.values()):
        raise ReasonRefused(ReasonError.TOO_LONG)
    if (
        code in BUILTIN_REASONS
        or await session.scalar(select(CannedReason.id).where(CannedReason.code == code)) is not None
    ):
        raise ReasonRefused(ReasonError.EXISTS)
    session.add(CannedReason(code=code, texts=texts, fixable=fixable, added_by=staff_user_id, added_at=now))
    await session.flush()
    await audit.record(
        session,
        now=now,
        actor_user_id=staff_user_id,
        action="reason.added",
        subject=code,
        details={"languages": sorted(texts), "fixable": fixable},
    )
    return ReasonOption(code, fixable, False, texts)


async def remove_reason(session: AsyncSession, code: str, staff_user_id: int, now: datetime) -> None:
    """Removes a canned reason (claims that used it keep their text); built-in ones stay."""
    canned = await session.scalar(select(CannedReason).where(CannedReason.code == code.strip().lower()))
    if canned is None:
        raise ReasonRefused(ReasonError.NOT_FOUND)
    await session.delete(canned)
    await audit.record(session, now=now, actor_user_id=staff_user_id, action="reason.removed", subject=canned.code)


async def reject_with(
    session: AsyncSession,
    order_id: str,
    staff_user_id: int,
    now: datetime,
    *,
    label: Label,
    code: str | None = None,
    text: str | None = None,
    final: bool = False,
    actor: Actor | None = None,
) -> Decision:
    """Rejects with a reason code (built-in or canned) or free text, in the customer's language.

    `text` that is a single known reason code is taken as that code; `final` applies to free text
    only (a coded reason says itself whether it is fixable).
    """
    option: ReasonOption | None = None
    if code is not None:
        option = await find_reason(session, code)
        if option is None:
            raise DecisionRefused(DecisionError.UNKNOWN_REASON)
    elif text is not None and len(text.split()) == 1:
        option = await find_reason(session, text)
    if option is not None:
        claim = await _claim(session, order_id)
        member = await session.get(Member, claim.member_id)
        assert member is not None
        if option.builtin:
            key = f"reasons.{option.code}"
            return await reject(
                session,
                order_id,
                staff_user_id,
                label(member.language, key),
                now,
                fixable=option.fixable,
                reason_code=option.code,
                customer_reason={"$key": key},
                actor=actor,
            )
        return await reject(
            session,
            order_id,
            staff_user_id,
            canned_text(option.texts, member.language),
            now,
            fixable=option.fixable,
            reason_code=option.code,
            actor=actor,
        )
    reason = (text or "").strip()[:MAX_REASON_TEXT]
    if not reason:
        raise DecisionRefused(DecisionError.UNKNOWN_REASON)
    return await reject(session, order_id, staff_user_id, reason, now, fixable=not final, actor=actor)


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
    claim = await _claim(session, order_id)
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
