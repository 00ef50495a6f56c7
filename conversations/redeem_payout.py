"""Redeeming a cashback: how to be paid (IBAN, another bank account, an e-wallet), asked only when
the promotion pays cash. What is valid is storage.fulfilment's rule; a refused entry says why and
keeps nothing. The account holder is the profile's name; the confirmation page shows it masked."""

from __future__ import annotations

from conversations.journey import Action, ButtonRows, StaleButton
from conversations.redeem_state import S, advance, answers
from conversations.turn import Turn
from storage import fulfilment
from storage.fulfilment import PayoutMethod

METHODS = tuple(PayoutMethod)


async def ask_method(turn: Turn) -> None:
    holder = fulfilment.holder_name(turn.member) if turn.member else ""
    rows: ButtonRows = [[(turn.t(f"fulfilment.payout.method_{m.value}"), Action("m", m.value))] for m in METHODS]
    turn.say("fulfilment.payout.ask_method", holder=holder or "—", markup=turn.keyboard(rows))


async def on_method(turn: Turn, action: Action) -> None:
    if action.name != "m" or action.argument not in {m.value for m in METHODS}:
        raise StaleButton()
    await turn.go(S.PAYOUT, payout_method=action.argument)


async def ask_details(turn: Turn) -> None:
    method = answers(turn).payout_method or PayoutMethod.IBAN.value
    turn.say(f"fulfilment.payout.ask_{method}", markup=turn.keyboard([]))


async def on_details(turn: Turn) -> None:
    method = PayoutMethod(answers(turn).payout_method or PayoutMethod.IBAN.value)
    holder = fulfilment.holder_name(turn.member) if turn.member else ""
    checked = fulfilment.check_payout(method, turn.text or "", holder)
    if checked.payout is None:
        problem = checked.problem or fulfilment.PayoutProblem.IBAN_FORMAT
        turn.say(
            f"fulfilment.payout.{problem.value}",
            country=checked.country or "",
            length=checked.expected_length or "",
        )
        return
    await advance(turn, payout=checked.payout)
