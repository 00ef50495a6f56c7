"""The lucky-draw winner's "🎁 Claim my prize" button (callback `g:prize:<draw id>`), the
shipping address a winner of a prize that ships gives right after, and every entrant's
"🔍 How can I check the draw?" (`g:drawproof:<draw id>`).

The button comes with the winner's message: storage.draw queues it as the action "prize" and the
draw's id, and bot/outbox.py makes the callback data (also for a reserve called in later). It is
a global button: it works from the old message, mid-journey, and leaves any journey where it was.
The rules (whose prize, the deadline, telling staff) are `storage.draw.answer`; this module only
renders its outcome. When the promotion's draw prize ships (`lucky_draw.ships`, the default), the
winner is then asked for the address — prefilled as at redemption (conversations/redeem_address.py)
and confirmed with one tap — which goes to the winner's card, the staff chat and the shipment file.
"""

from __future__ import annotations

import enum

from conversations.flow import Flow, Step
from conversations.journey import Action, Answers, StaleButton
from conversations.redeem_address import prefill
from conversations.replies import main_menu
from conversations.router import Router
from conversations.turn import Turn
from storage import addresses, claims, draw, fulfilment, promotions

KEYS = {
    draw.Answer.CLAIMED: "prize.claimed",
    draw.Answer.ALREADY: "prize.already",
    draw.Answer.EXPIRED: "prize.expired",
    draw.Answer.NOT_WINNER: "prize.not_winner",
}
FLOW = "prize_address"


class P(enum.StrEnum):
    ADDRESS = "prize_address"
    CONFIRM = "prize_address_confirm"


class PrizeAnswers(Answers):
    order_id: str | None = None
    address: dict[str, str] = {}
    prefilled: bool = False


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
    name = draw.promotion_name(outcome.promotion, turn.language)
    if outcome.result in (draw.Answer.CLAIMED, draw.Answer.ALREADY) and outcome.promotion.draw_prize_ships:
        for order_id in outcome.order_ids:
            claim = await claims.claim_of_member(turn.session, turn.member.id, order_id)
            row = await fulfilment.get(turn.session, claim.id, fulfilment.DRAW) if claim else None
            if claim is not None and (row is None or not row.address):
                await turn.finish()
                turn.say("fulfilment.address.ask_draw", promotion=name, order_id=order_id)
                await turn.go(P.ADDRESS, order_id=order_id)
                return
    turn.say(KEYS[outcome.result], promotion=name, order_ids=", ".join(outcome.order_ids))


def _answers(turn: Turn) -> PrizeAnswers:
    return turn.answers(PrizeAnswers)


async def _next(turn: Turn, **given: object) -> None:
    merged = PrizeAnswers.model_validate(_answers(turn).model_dump() | given)
    await turn.go(P.ADDRESS if addresses.missing_field(merged.address) else P.CONFIRM, **given)


async def ask_address(turn: Turn) -> None:
    given = _answers(turn)
    if not given.prefilled and not given.address:
        await _next(turn, address=await prefill(turn), prefilled=True)
        return
    field = addresses.missing_field(given.address)
    if field is None:
        await turn.go(P.CONFIRM)
        return
    turn.say(f"redeem.address_{field.value}", markup=turn.keyboard([], back=False))


async def on_address(turn: Turn) -> None:
    address = _answers(turn).address
    field = addresses.missing_field(address)
    if field is None:
        await turn.go(P.CONFIRM)
        return
    checked = addresses.check_field(field, turn.text or "", turn.member.country if turn.member else None)
    if checked.value is None:
        problem = checked.problem or addresses.AddressProblem.BAD_TEXT
        turn.say(f"redeem.address_invalid_{problem.value}", limit=addresses.MAX_FIELD)
        return
    await _next(turn, address=address | {field.value: checked.value})


async def ask_confirm(turn: Turn) -> None:
    address = {field.value: _answers(turn).address.get(field.value, "") for field in addresses.AddressField}
    keyboard = turn.keyboard([[(turn.t("buttons.confirm"), "ok"), (turn.t("redeem.address_redo"), "redo")]], back=False)
    turn.say_text(turn.t("redeem.address_check", **address), markup=keyboard)


async def on_confirm(turn: Turn, action: Action) -> None:
    given = _answers(turn)
    if action.name == "redo":
        await turn.go(P.ADDRESS, address={}, prefilled=True)
        return
    if action.name != "ok" or turn.member is None or not given.order_id:
        raise StaleButton()
    claim = await claims.claim_of_member(turn.session, turn.member.id, given.order_id)
    if claim is None or not addresses.is_complete(given.address):
        raise StaleButton()
    await fulfilment.save_draw_address(turn.session, claim, given.address, turn.member, turn.now)
    settings = turn.services.settings
    await fulfilment.announce_draw_address(
        turn.session,
        claim,
        turn.member,
        given.address,
        settings.staff_chat_id,
        turn.services.translator.default_language,
        turn.now,
    )
    found = await promotions.get(turn.session, claim.promotion_id)
    await turn.finish()
    turn.say(
        "fulfilment.address.draw_saved",
        promotion=draw.promotion_name(found, turn.language) if found else "—",
        order_id=claim.order_id,
        markup=main_menu(turn),
    )


STEPS = {
    P.ADDRESS: Step(ask_address, on_text=on_address, expects="text"),
    P.CONFIRM: Step(ask_confirm, on_action=on_confirm),
}


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
    router.add_flow(Flow(FLOW, STEPS, PrizeAnswers))
    router.actions[draw.CLAIM_ACTION] = claim_prize
    router.actions[draw.PROOF_ACTION] = show_proof
