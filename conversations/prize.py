"""The lucky-draw winner's "🎁 Claim my prize" button (callback `g:prize:<draw id>`), and every
entrant's "🔍 How can I check the draw?" (`g:drawproof:<draw id>`).

The button comes with the winner's message: storage.draw queues it as the action "prize" and the
draw's id, and bot/outbox.py makes the callback data (also for a reserve called in later). It is
a global button: it works from the old message, mid-journey, and leaves any journey where it was.
The rules (whose prize, the deadline, telling staff) are `storage.draw.answer`; this module only
renders its outcome.
"""

from __future__ import annotations

from conversations.journey import Action
from conversations.router import Router
from conversations.turn import Turn
from storage import draw

KEYS = {
    draw.Answer.CLAIMED: "prize.claimed",
    draw.Answer.ALREADY: "prize.already",
    draw.Answer.EXPIRED: "prize.expired",
    draw.Answer.NOT_WINNER: "prize.not_winner",
}


async def claim_prize(turn: Turn, action: Action) -> None:
    """Records the winner's answer (within the deadline) and says how it went."""
    argument = action.argument
    if not argument.isdecimal() or turn.member is None:
        turn.say("prize.not_winner")
        return
    settings = turn.services.settings
    outcome = await draw.answer(
        turn.session,
        int(argument),
        turn.member,
        turn.now,
        staff_chat_id=settings.staff_chat_id,
        staff_language=turn.services.translator.default_language,
    )
    if outcome.result == draw.Answer.NOT_WINNER or outcome.promotion is None:
        turn.say("prize.not_winner")
        return
    turn.say(
        KEYS[outcome.result],
        promotion=draw.promotion_name(outcome.promotion, turn.language),
        order_ids=", ".join(outcome.order_ids),
    )


async def show_proof(turn: Turn, action: Action) -> None:
    """The draw's proof for an entrant who asks: the published hash, the revealed seed, and in one
    sentence what they show. Read-only: a journey in progress stays where it was."""
    found = await draw.get(turn.session, int(action.argument)) if action.argument.isdecimal() else None
    if found is None or found[0].drawn_at is None or not found[0].seed:
        turn.say("draw_proof.unknown")
        return
    row, promotion = found
    turn.say(
        "draw_proof.text",
        promotion=draw.promotion_name(promotion, turn.language),
        draw_id=row.id,
        seed_sha256=row.seed_sha256,
        seed=row.seed,
        count=len(row.entrants or []),
    )


def setup(router: Router) -> None:
    router.actions[draw.CLAIM_ACTION] = claim_prize
    router.actions[draw.PROOF_ACTION] = show_proof
