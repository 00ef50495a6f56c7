"""Rejection reasons: the guide's built-in ones, the canned ones staff add, and rejecting with one.

Kept apart from storage/review.py because managing the list of reasons (/reasons) and turning a
reason into the customer's text are their own job; the decision itself is `review.reject`
(this module imports storage.review, never the other way round).

Decisions, written down:

* **Reasons.** A built-in reason is a locale key `reasons.<code>`; the customer's message carries
  `{"$key": "reasons.<code>"}` so the outbox renders it in the customer's language at send time.
  A canned reason (added by staff, stored in `canned_reasons`) has one text per language and is
  resolved in the customer's language when the decision is made. Free text goes as typed.
  `Claim.reason` keeps the text the customer saw (their language at decision time), so /status
  and "Redeem again" repeat it; `Claim.reason_code` keeps the code.
* **Fixable or final.** Each reason says whether it is missing information (the customer may
  redeem again) or final (not qualified). Free text is fixable unless staff say it is final.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import CannedReason, Member
from storage.review import Actor, Decision, DecisionError, DecisionRefused, claim_by_order, reject
from storage.texts import in_language
from storage.written_language import is_foreign

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
        claim = await claim_by_order(session, order_id)
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
    shown = await _own_words(session, order_id, reason)
    return await reject(
        session, order_id, staff_user_id, reason, now, fixable=not final, actor=actor, customer_reason=shown
    )


async def _own_words(session: AsyncSession, order_id: str, reason: str) -> dict[str, Any] | None:
    """Staff's own reason in another language than the customer's comes with a note saying so."""
    claim = await claim_by_order(session, order_id)
    member = await session.get(Member, claim.member_id)
    if member is None or not is_foreign(reason, member.language):
        return None
    return {"$key": "support.own_words", "values": {"reason": reason}}
