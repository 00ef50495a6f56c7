"""The reply to an "Other reason…" prompt (staff/reject_prompt.py), taken as the reason.

It is taken as `/reject ORDER_ID REASON` would take it ("final:" before it makes it final). A
reply to a prompt of an earlier attempt, or of a claim decided meanwhile, changes nothing and
says why.
"""

from __future__ import annotations

from staff.cards import queue_card_edits
from staff.decisions import reject_claim
from staff.text import tr
from staff.turn import StaffTurn
from storage import review_queries, staff_prompts
from storage.models import ClaimStatus


async def answer(turn: StaffTurn, quoted_message_id: int) -> bool:
    """The reply to a prompt, taken as the reason; False when the quoted message is no prompt."""
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
