"""Rejecting with one's own reason without retyping the order id.

"Other reason…" on a review card asks the staff member to reply to a prompt (ForceReply, so the
app opens the reply at once); the prompt's message id is stored with the claim and its attempt
(storage/staff_prompts.py), and the reply is taken as the reason, as `/reject ORDER_ID REASON`
would take it ("final:" before it makes it final). A reply to a prompt of an earlier attempt, or
of a claim decided meanwhile, changes nothing and says why.
"""

from __future__ import annotations

from telegram import ForceReply

from staff.cards import queue_card_edits
from staff.text import tr
from staff.turn import StaffTurn
from storage import review_queries, staff_prompts
from storage.db import unit_of_work
from storage.models import Claim, ClaimStatus

PLACEHOLDER = 64  # Telegram's limit for input_field_placeholder


def ask(turn: StaffTurn, claim: Claim) -> None:
    """Queues the prompt; its message id is remembered once it is sent."""
    services = turn.services
    claim_id, attempt, asked_by, chat_id = claim.id, claim.attempt, turn.user_id, turn.chat_id

    async def remember(message_id: int) -> None:
        async with unit_of_work(services.sessions) as session:
            await staff_prompts.remember(
                session,
                chat_id=chat_id,
                message_id=message_id,
                claim_id=claim_id,
                attempt=attempt,
                asked_by=asked_by,
                now=services.clock.now(),
            )

    placeholder = tr(services, "support.staff.reason_placeholder")[:PLACEHOLDER]
    markup = ForceReply(selective=False, input_field_placeholder=placeholder)
    turn.say_text(tr(services, "support.staff.reason_prompt", order_id=claim.order_id), markup=markup, on_sent=remember)
    turn.notify_text(tr(services, "support.staff.reason_asked", order_id=claim.order_id))


async def answer(turn: StaffTurn, quoted_message_id: int) -> bool:
    """The reply to a prompt, taken as the reason; False when the quoted message is no prompt."""
    from staff.decisions import reject_claim  # decisions imports this module for the button

    prompt = await staff_prompts.find(turn.session, turn.chat_id, quoted_message_id)
    if prompt is None:
        return False
    services = turn.services
    claim = await review_queries.claim_by_id(turn.session, prompt.claim_id)
    if claim is None:
        turn.say("staff.review.stale")
        return True
    reason = (turn.text or "").strip()
    if not reason:
        turn.say_text(tr(services, "support.staff.reason_text_only", order_id=claim.order_id))
        return True
    if prompt.used_at is not None or claim.attempt != prompt.attempt or claim.status != ClaimStatus.REVIEW:
        turn.say_text(tr(services, "support.staff.reason_too_late", order_id=claim.order_id))
        return True
    final = False
    marker = tr(services, "staff.review.final_marker")
    for prefix in {marker.lower(), "final:"}:
        if reason.lower().startswith(prefix):
            final, reason = True, reason[len(prefix) :].strip()
    outcome = await reject_claim(turn, claim.order_id, text=reason, final=final)
    turn.say_text(outcome.text)
    if outcome.ok and outcome.claim_id is not None:
        staff_prompts.mark_used(prompt, turn.now)
        await queue_card_edits(turn, outcome.claim_id, main=True)
    return True
