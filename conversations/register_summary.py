"""Registering a product, the proof and the save: invoice photo → invoice number → summary → confirm.

The invoice number is stored in storage.registration's normalized form, the one the duplicate
check compares; the final save checks the whole draft again (it may be days old).
"""

from __future__ import annotations

import asyncio

from bot.assets import asset_path
from conversations.journey import Action, StaleButton
from conversations.photos import store_image
from conversations.register_state import S, answers, day, product
from conversations.replies import main_menu
from conversations.turn import Turn
from locales.countries import country_name
from storage import registration

SUMMARY_EDITS = (
    ("store", S.REGION),
    ("date", S.DATE),
    ("channel", S.CHANNEL),
    ("invoice", S.INVOICE),
    ("invoice_number", S.INVOICE_NUMBER),
)


# ---- 8. invoice ---------------------------------------------------------------------------
async def ask_invoice(turn: Turn) -> None:
    """Asks for the invoice photo and says what it must show."""
    turn.say("register.ask_invoice", photo=asset_path("invoice_example.png"), markup=turn.keyboard([]))


async def on_invoice(turn: Turn) -> None:
    """Keeps the invoice normalized (orientation, ≤1600 px, no metadata); then its number."""
    stored = await store_image(turn)
    if stored is None:
        return
    given = answers(turn)
    following = given.after(S.INVOICE_NUMBER) if not given.invoice_number else S.SUMMARY
    await turn.go(following, invoice_path=stored.path, invoice_sha256=stored.sha256, invoice_phash=stored.phash)


# ---- 8b. invoice number -------------------------------------------------------------------
async def ask_invoice_number(turn: Turn) -> None:
    """The invoice number as printed: one invoice can back one claim, whoever types it."""
    turn.say("register.ask_invoice_number", markup=turn.keyboard([]))


async def on_invoice_number(turn: Turn) -> None:
    number = registration.normalize_invoice_number(turn.text or "")
    if number is None:
        turn.say("register.invoice_number_invalid")
        return
    await turn.go(S.SUMMARY, invoice_number=number)


# ---- 9. summary ---------------------------------------------------------------------------
async def ask_summary(turn: Turn) -> None:
    """Every fact with the invoice thumbnail: Confirm, Edit a field, or Cancel."""
    found = await product(turn)
    given = answers(turn)
    assert found is not None and given.purchase_date is not None and given.channel is not None
    media = turn.services.media
    # Decoding the invoice takes ~10 ms: in a worker thread, so other customers' updates go on.
    photo = await asyncio.to_thread(media.thumbnail, given.invoice_path) if given.invoice_path else None
    edits: list[tuple[str, Action | str]] = [
        (turn.t(f"register.edit_{name}"), Action("edit", name)) for name, _ in SUMMARY_EDITS
    ]
    turn.say(
        "register.summary",
        category=turn.t(f"categories.{found.category}"),
        name=found.name,
        model=found.model,
        serial=given.serial,
        country=country_name(given.country or "", turn.language),
        store=given.store,
        date=day(turn, given.purchase_date),
        channel=turn.t(f"channels.{given.channel.value}"),
        invoice_number=given.invoice_number or "—",
        photo=photo,
        markup=turn.keyboard([[(turn.t("buttons.confirm"), "confirm")], edits[:2], edits[2:4], edits[4:]], back=False),
    )


async def on_summary(turn: Turn, action: Action) -> None:
    """Saves the registration, or opens one field for editing."""
    if action.name == "edit":
        target = dict(SUMMARY_EDITS).get(action.argument)
        if target is None:
            raise StaleButton()
        await turn.go(target, editing=True)
    elif action.name == "confirm":
        await _save(turn)
    else:
        raise StaleButton()


async def _save(turn: Turn) -> None:
    member = turn.member
    given = answers(turn)
    assert member is not None
    if given.product_id is None or given.serial is None or given.purchase_date is None or given.channel is None:
        await turn.go(S.CATEGORY)  # answers lost (an old state): start the product again
        return
    draft = registration.Draft(
        catalogue_product_id=given.product_id,
        serial=given.serial,
        purchase_country=given.country or "",
        store_name=given.store or "",
        purchase_date=given.purchase_date,
        channel=given.channel.value,
        invoice_path=given.invoice_path or "",
        invoice_sha256=given.invoice_sha256 or "",
        invoice_number=given.invoice_number,
        invoice_phash=given.invoice_phash,
    )
    try:
        saved = await registration.complete(turn.session, member.id, draft, turn.now)
    except registration.RegistrationError as error:
        turn.say(f"register.failed_{error.reason}", serial=draft.serial, markup=main_menu(turn))
        await turn.finish()
        return
    found = await product(turn)
    await turn.finish()
    assert found is not None
    turn.say("register.done", name=found.name, serial=saved.serial, markup=main_menu(turn))
