"""Decisions: /approve, /reject, /reopen and the review card's buttons.

A decision is made by a storage service (storage/review.py: compare-and-set, so one of two
simultaneous decisions wins; the customer's message is committed with it through the outbox).
The handlers here do not check the rules again: they call the service and render what it
returns, or its refusal (`review.DecisionRefused`). The decision runs in a savepoint of the
update's unit of work, so a refusal raised half-way (no code left) undoes only the decision,
and the refusal is audited in the same unit of work.

The winner's turn queues the edit of the card (the decision, who made it and when, no buttons);
a refused one changes nothing on the card and only tells who decided and how.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from locales.i18n import Raw
from staff import history, reject_prompt
from staff.actions import Button, CardAction
from staff.cards import decided_by, queue_card_edits, reasons_markup, show_on
from staff.router import Command
from staff.text import moment, reason_text, status_label, tr
from staff.turn import StaffTurn
from storage import code_stock, reasons, review, review_queries
from storage.models import ClaimStatus, PrizeKind

Decide = Callable[[AsyncSession, review.Actor], Awaitable[review.Decision]]


@dataclass(frozen=True)
class Outcome:
    """What a decision came to, as staff read it."""

    ok: bool
    text: str
    claim_id: int | None = None
    refused: review.DecisionError | None = None


def _already_decided(turn: StaffTurn, order_id: str, info: review_queries.DecisionInfo) -> str:
    """Who decided the claim, how and when: what a refused staff member is told."""
    services = turn.services
    outcome, when = status_label(services, info.status), moment(services, info.at)
    return tr(
        services,
        "staff.review.already_decided",
        order_id=order_id,
        outcome=outcome,
        who=decided_by(services, info),
        time=when,
    )


async def _refusal_text(turn: StaffTurn, refused: review.DecisionRefused, order_id: str) -> str:
    claim_id = refused.claim_id
    info = await review_queries.decision_info(turn.session, claim_id) if claim_id is not None else None
    if refused.error == review.DecisionError.ALREADY_DECIDED and info is not None:
        return _already_decided(turn, order_id, info)
    return tr(turn.services, f"staff.review.refused.{refused.error.value}", order_id=order_id)


def _decided_text(turn: StaffTurn, decision: review.Decision) -> str:
    services, claim = turn.services, decision.claim
    if claim.status == ClaimStatus.APPROVED:
        if decision.code:
            left = decision.codes_left if decision.codes_left is not None else "?"
            return tr(services, "staff.review.approved_code", order_id=claim.order_id, code=decision.code, left=left)
        if decision.promotion.prize_kind == PrizeKind.CASHBACK:
            return tr(services, "staff.review.approved_cashback", order_id=claim.order_id)
        return tr(services, "staff.review.approved", order_id=claim.order_id)
    key = "staff.review.missing_info" if claim.status == ClaimStatus.MISSING_INFO else "staff.review.rejected"
    return tr(
        services, key, order_id=claim.order_id, reason=Raw(reason_text(services, claim.reason or "", claim.reason_code))
    )


async def decide(turn: StaffTurn, order_id: str, what: str, action: Decide) -> Outcome:
    """Runs a decision in a savepoint of the turn's unit of work; a refusal is audited and explained."""
    session = turn.session
    try:
        async with session.begin_nested():
            decision = await action(session, turn.actor)
    except review.DecisionRefused as refused:
        await review.record_refusal(session, order_id, turn.user_id, refused.error, what, turn.now)
        return Outcome(False, await _refusal_text(turn, refused, order_id), refused.claim_id, refused.error)
    return Outcome(True, _decided_text(turn, decision), decision.claim.id)


async def approve_claim(turn: StaffTurn, order_id: str, code: str | None = None) -> Outcome:
    settings = turn.services.settings
    notice = code_stock.StaffNotice(settings.staff_chat_id, settings.default_language, settings.low_codes_warning)

    async def action(session: AsyncSession, actor: review.Actor) -> review.Decision:
        return await review.approve(session, order_id, actor.user_id, turn.now, code, actor=actor, notice=notice)

    return await decide(turn, order_id, "approve", action)


async def reject_claim(
    turn: StaffTurn, order_id: str, *, code: str | None = None, text: str | None = None, final: bool = False
) -> Outcome:
    translator = turn.services.translator

    async def action(session: AsyncSession, actor: review.Actor) -> review.Decision:
        return await reasons.reject_with(
            session,
            order_id,
            actor.user_id,
            turn.now,
            label=translator.t,
            code=code,
            text=text,
            final=final,
            actor=actor,
        )

    return await decide(turn, order_id, "reject", action)


# ---------------------------------------------------------------- the card's buttons


async def on_card_button(turn: StaffTurn, action: CardAction) -> None:
    """A button of a review card, pressed by staff (the router checked who)."""
    services = turn.services
    claim = await review_queries.claim_by_id(turn.session, action.claim_id)
    if claim is None:
        turn.notify("staff.review.stale", alert=True)
        return
    if action.button == Button.HISTORY:
        await history.show(turn, claim.id)
        return
    pressed = turn.pressed
    if claim.attempt != action.attempt:  # a card of an earlier attempt: its buttons are put away
        turn.notify_text(
            tr(services, "staff.review.outdated", order_id=claim.order_id, attempt=claim.attempt), alert=True
        )
        if pressed is not None:
            turn.edit_markup(*pressed, None)
        return
    order_id = claim.order_id
    if action.button in (Button.APPROVE, Button.REJECT):
        if action.button == Button.APPROVE:
            outcome = await approve_claim(turn, order_id)
        else:
            outcome = await reject_claim(turn, order_id, code=action.reason_code)
        turn.notify_text(outcome.text, alert=not outcome.ok)
        if outcome.ok:
            await queue_card_edits(turn, action.claim_id, main=True, pressed=pressed)
        elif outcome.refused == review.DecisionError.ALREADY_DECIDED:  # the winner edits the card
            await queue_card_edits(turn, action.claim_id, main=False, pressed=pressed)
        return
    if claim.status != ClaimStatus.REVIEW:  # Reject…, Other or Back on a copy left over from before the decision
        info = await review_queries.decision_info(turn.session, claim.id)
        if info is not None:
            turn.notify_text(_already_decided(turn, order_id, info), alert=True)
        await queue_card_edits(turn, claim.id, main=False, pressed=pressed)
        return
    if action.button == Button.OTHER:  # a prompt staff answer by replying (staff/reject_prompt.py)
        reject_prompt.ask(turn, claim)
    elif pressed is not None and action.button == Button.REASONS:
        turn.edit_markup(
            *pressed, reasons_markup(services, claim.id, claim.attempt, await reasons.reason_options(turn.session))
        )
    elif pressed is not None:  # Back: the card's own buttons again
        await show_on(turn, claim.id, pressed)


async def on_redelivered_button(turn: StaffTurn, action: CardAction) -> None:
    """A press applied already, sent again: changes nothing, shows the pressed card as it is now
    (the first delivery's edit may have been lost with the process) and answers the press."""
    pressed = turn.pressed
    claim = await review_queries.claim_by_id(turn.session, action.claim_id)
    if claim is not None and pressed is not None and claim.attempt == action.attempt:
        await show_on(turn, claim.id, pressed)
    turn.notify("staff.already_done")


# ---------------------------------------------------------------- commands


def _order_and_rest(turn: StaffTurn) -> tuple[str | None, str]:
    """ "/cmd ORDER rest of the text" → (order, rest), keeping the reason's own spacing."""
    parts = turn.command_text.split(maxsplit=2)
    return (parts[1] if len(parts) > 1 else None), (parts[2].strip() if len(parts) > 2 else "")


async def approve_command(turn: StaffTurn) -> None:
    order_id, rest = _order_and_rest(turn)
    if order_id is None:
        turn.say("staff.review.usage_approve")
        return
    outcome = await approve_claim(turn, order_id, rest.split()[0] if rest else None)
    turn.say_text(outcome.text)
    if outcome.ok and outcome.claim_id is not None:  # a refused decision changes nothing on the card
        await queue_card_edits(turn, outcome.claim_id, main=True)


async def reject_command(turn: StaffTurn) -> None:
    services = turn.services
    order_id, rest = _order_and_rest(turn)
    if order_id is None or not rest:
        codes = ", ".join(option.code for option in await reasons.reason_options(turn.session))
        turn.say("staff.review.usage_reject", codes=codes)
        return
    final = False
    marker = tr(services, "staff.review.final_marker")
    for prefix in {marker.lower(), "final:"}:
        if rest.lower().startswith(prefix):
            final, rest = True, rest[len(prefix) :].strip()
    outcome = await reject_claim(turn, order_id, text=rest, final=final)
    turn.say_text(outcome.text)
    if outcome.ok and outcome.claim_id is not None:  # a refused decision changes nothing on the card
        await queue_card_edits(turn, outcome.claim_id, main=True)


async def reopen_command(turn: StaffTurn) -> None:
    """Admins: a decided claim back to review; the service queues the customer's note and a new card."""
    order_id, _ = _order_and_rest(turn)
    if order_id is None:
        turn.say("staff.review.usage_reopen")
        return
    try:
        async with turn.session.begin_nested():
            claim = await review.reopen(
                turn.session, order_id, turn.user_id, turn.now, actor=turn.actor, review_chat_id=turn.staff_chat_id
            )
    except review.DecisionRefused as refused:
        await review.record_refusal(turn.session, order_id, turn.user_id, refused.error, "reopen", turn.now)
        turn.say(f"staff.review.refused.{refused.error.value}", order_id=order_id)
        return
    turn.say("staff.review.reopened", order_id=claim.order_id)


COMMANDS = [
    Command("approve", approve_command),
    Command("reject", reject_command),
    Command("reopen", reopen_command, admin=True),
]
