"""Redeeming a physical prize: the shipping address, one line at a time, then read back.

Which lines there are and what each accepts is storage.addresses' schema; the submit refuses an
address it finds incomplete, so the two cannot disagree.
"""

from __future__ import annotations

from conversations.journey import Action, StaleButton
from conversations.redeem_state import advance, answers
from conversations.turn import Turn
from storage import addresses


async def ask_address(turn: Turn) -> None:
    """One line of the shipping address at a time."""
    field = addresses.missing_field(answers(turn).address)
    if field is None:
        await advance(turn)
        return
    turn.say(f"redeem.address_{field.value}", markup=turn.keyboard([]))


async def on_address(turn: Turn) -> None:
    address = answers(turn).address
    field = addresses.missing_field(address)
    if field is None:
        await advance(turn)
        return
    checked = addresses.check_field(field, turn.text or "", turn.member.country if turn.member else None)
    if checked.value is None:
        problem = checked.problem or addresses.AddressProblem.BAD_TEXT
        turn.say(f"redeem.address_invalid_{problem.value}", limit=addresses.MAX_FIELD)
        return
    await advance(turn, address=address | {field.value: checked.value})


async def ask_address_confirm(turn: Turn) -> None:
    """Reads the address back before it is used."""
    address = {field.value: answers(turn).address.get(field.value, "") for field in addresses.AddressField}
    keyboard = turn.keyboard([[(turn.t("buttons.confirm"), "ok"), (turn.t("redeem.address_redo"), "redo")]])
    turn.say_text(turn.t("redeem.address_check", **address), markup=keyboard)


async def on_address_confirm(turn: Turn, action: Action) -> None:
    if action.name == "ok":
        await advance(turn, address_ok=True)
    elif action.name == "redo":
        await advance(turn, address={}, address_ok=False)
    else:
        raise StaleButton()
