"""Rejecting with one's own reason without retyping the order id: the prompt.

"Other reason…" on a review card asks the staff member to reply to a prompt (ForceReply, so the
app opens the reply at once); the prompt's message id is stored with the claim and its attempt
(storage/staff_prompts.py). The reply is taken by staff/reject_reply.py.
"""

from __future__ import annotations

from telegram import ForceReply

from staff.text import tr
from staff.turn import StaffTurn
from storage import staff_prompts
from storage.db import unit_of_work
from storage.models import Claim

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
