"""Redeeming a physical prize: the shipping address, prefilled, the missing lines asked one at a
time, then read back and confirmed with one tap.

Prefilled once per journey: the member's last shipping address when there is one (then it is only
read back), else the profile's name, country and phone, so only street, city and postcode are
asked. "Enter again" clears it and asks every line.

Which lines there are and what each accepts is storage.addresses' schema; the submit refuses an
address it finds incomplete, so the two cannot disagree.
"""

from __future__ import annotations

from conversations.journey import Action, StaleButton
from conversations.redeem_state import advance, answers
from conversations.turn import Turn
from locales.countries import country_name
from storage import addresses, fulfilment


async def prefill(turn: Turn) -> dict[str, str]:
    """The address to start from: the last one given, or the profile's name, country and phone."""
    member = turn.member
    if member is None:
        return {}
    last = await fulfilment.last_address(turn.session, member.id)
    if last and addresses.is_complete(last):
        return {field.value: last[field.value] for field in addresses.AddressField}
    start = {
        addresses.AddressField.NAME.value: fulfilment.holder_name(member),
        addresses.AddressField.COUNTRY.value: country_name(member.country, turn.language) if member.country else "",
        addresses.AddressField.PHONE.value: member.phone or "",
    }
    return {key: value for key, value in start.items() if value}


async def ask_address(turn: Turn) -> None:
    """One line of the shipping address at a time (after the prefill)."""
    given = answers(turn)
    if not given.address_prefilled and not given.address:
        start = await prefill(turn)
        if start:
            turn.say("fulfilment.address.again" if addresses.is_complete(start) else "fulfilment.address.prefilled")
        await advance(turn, address=start, address_prefilled=True)
        return
    field = addresses.missing_field(given.address)
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
