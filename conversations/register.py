"""Registering a product, one question at a time (the guide's Steps 1 to 5-3).

category → serial (catalogue look-up, confirm) → CHK → region → store → purchase date
→ channel → invoice photo → invoice number → summary → confirm. Each answer is committed with
the next step (`turn.go`), and the engine asks the next question. This module holds the entry,
the product (category, serial, CHK) and the step table; register_purchase.py where and when it
was bought, register_summary.py the invoice, the summary and the save.
"""

from __future__ import annotations

from bot.assets import asset_path, serial_asset
from conversations.flow import Flow, Step
from conversations.journey import Action, StaleButton
from conversations.photos import received_serials
from conversations.register_purchase import (
    ask_channel,
    ask_date,
    ask_region,
    ask_store,
    on_channel,
    on_date_action,
    on_date_text,
    on_region_action,
    on_region_text,
    on_store_action,
    on_store_text,
)
from conversations.register_state import FLOW, RegisterAnswers, S, answers, product
from conversations.register_summary import (
    ask_invoice,
    ask_invoice_number,
    ask_summary,
    on_invoice,
    on_invoice_number,
    on_summary,
)
from conversations.replies import main_menu
from conversations.router import Router
from conversations.support import with_request_button
from conversations.turn import Turn
from storage import catalogue, registration
from storage.models import Category
from storage.photo_intake import PhotoUse
from storage.support import Subject

__all__ = ["FLOW", "S", "STEPS", "setup"]


# ---- entry ------------------------------------------------------------------------------
async def start(turn: Turn) -> None:
    """Starts a registration (after the profile, which must exist first)."""
    from conversations.profile import require_profile

    if not await require_profile(turn, then="register"):
        return
    await turn.finish()
    await turn.go(S.CATEGORY)


# ---- 1. category ------------------------------------------------------------------------
async def ask_category(turn: Turn) -> None:
    """Asks which kind of product it is."""
    labels: list[tuple[str, Action | str]] = [
        (turn.t(f"categories.{c.value}"), Action("cat", c.value)) for c in Category
    ]
    turn.say(
        "register.ask_category", markup=turn.keyboard([labels[i : i + 2] for i in range(0, len(labels), 2)], back=False)
    )


async def on_category(turn: Turn, action: Action) -> None:
    """Stores the category; the serial comes next."""
    if action.name != "cat":
        raise StaleButton()
    await turn.go(S.SERIAL, category=action.choice(Category))


# ---- 2. serial ----------------------------------------------------------------------------
async def ask_serial(turn: Turn) -> None:
    """Asks for the serial, with a picture of where to find it on this kind of product."""
    category = answers(turn).category or Category.MONITOR
    turn.say(
        "register.ask_serial",
        photo=serial_asset(category.value),
        markup=turn.keyboard([]),
        category=turn.t(f"categories.{category.value}"),
    )


async def on_serial(turn: Turn) -> None:
    """Looks the typed serial up in the catalogue and asks the customer to confirm the product."""
    await _take_serial(turn, (turn.text or "").strip())


async def on_serial_photo(turn: Turn) -> None:
    """Reads the serial from a photo of the label's barcode; the customer still confirms it."""
    serials = await received_serials(turn)
    if serials is None:
        return
    for serial in serials:
        if await catalogue.find_serial(turn.session, serial) is not None:
            turn.say("register.label_read", serial=serial)
            await _take_serial(turn, serial)
            return
    turn.say("register.label_unreadable", markup=turn.keyboard([]))


async def _take_serial(turn: Turn, raw: str) -> None:
    member = turn.member
    assert member is not None
    match = await catalogue.find_serial(turn.session, raw) if 4 <= len(raw) <= 60 else None
    if match is None:
        markup = with_request_button(turn, turn.keyboard([]), Subject.UNKNOWN_SERIAL, raw)
        turn.say("register.serial_unknown", serial=raw[:60], markup=markup)
        return
    owner = await registration.serial_owner(turn.session, member.id, match.serial, turn.now)
    if owner is registration.SerialOwner.YOU:
        turn.say("register.serial_yours", serial=match.serial, markup=main_menu(turn))
        await turn.finish()
        return
    if owner is registration.SerialOwner.SOMEONE_ELSE:
        markup = with_request_button(turn, turn.keyboard([]), Subject.SERIAL_TAKEN, match.serial)
        turn.say("register.serial_taken", serial=match.serial, markup=markup)
        return
    if match.product.category != answers(turn).category:
        turn.say("register.category_adjusted", category=turn.t(f"categories.{match.product.category}"))
    if match.corrections:
        fixes = ", ".join(
            turn.t("register.correction", original=c.original, corrected=c.corrected, position=c.position)
            for c in match.corrections
        )
        turn.say("register.serial_corrected", serial=match.serial, fixes=fixes)
    await turn.go(
        S.CONFIRM_PRODUCT,
        serial=match.serial,
        product_id=match.product.id,
        category=match.product.category,
        chk_listed=match.listed,
    )


async def ask_confirm_product(turn: Turn) -> None:
    """Shows what the catalogue found (Step 5-2) and asks whether it is theirs."""
    found = await product(turn)
    assert found is not None
    turn.say(
        "register.confirm_product",
        category=turn.t(f"categories.{found.category}"),
        name=found.name,
        model=found.model,
        serial=answers(turn).serial,
        markup=turn.keyboard([[(turn.t("register.this_is_mine"), "yes"), (turn.t("register.not_mine"), "no")]]),
    )


async def on_confirm_product(turn: Turn, action: Action) -> None:
    """Goes on to the CHK, or back to the serial when the product is not theirs."""
    if action.name == "yes":
        await turn.go(S.CHK)
    else:
        turn.say("register.serial_again")
        await turn.go(S.SERIAL)


# ---- 3. CHK -------------------------------------------------------------------------------
async def ask_chk(turn: Turn) -> None:
    """Asks for the 3-digit CHK from the sticker, with an example picture."""
    markup = with_request_button(turn, turn.keyboard([]), Subject.NO_CHK, answers(turn).serial or "")
    turn.say("register.ask_chk", photo=asset_path("chk_example.png"), markup=markup)


async def on_chk(turn: Turn) -> None:
    """Renders storage's verdict on the CHK: on to the region, tries left, or locked."""
    member = turn.member
    serial = answers(turn).serial
    assert member is not None and serial is not None
    secret = turn.services.settings.chk_secret
    result = await registration.check_chk(
        turn.session, member.id, serial, turn.text or "", turn.now, secret.get_secret_value() if secret else None
    )
    if result.outcome is registration.ChkOutcome.OK:
        await turn.go(S.REGION)
    elif result.outcome is registration.ChkOutcome.WRONG:
        turn.say("register.chk_wrong", count=result.tries_left)
    else:
        turn.say("register.chk_locked", count=result.minutes_locked(turn.now), markup=main_menu(turn))
        await turn.finish()


STEPS: dict[S, Step] = {
    S.CATEGORY: Step(ask_category, on_action=on_category),
    S.SERIAL: Step(
        ask_serial, on_text=on_serial, on_photo=on_serial_photo, expects="text", photo_use=PhotoUse.READ_SERIALS
    ),
    S.CONFIRM_PRODUCT: Step(ask_confirm_product, on_action=on_confirm_product),
    S.CHK: Step(ask_chk, on_text=on_chk, expects="text"),
    S.REGION: Step(ask_region, on_text=on_region_text, on_action=on_region_action),
    S.STORE: Step(ask_store, on_text=on_store_text, on_action=on_store_action),
    S.DATE: Step(ask_date, on_text=on_date_text, on_action=on_date_action),
    S.CHANNEL: Step(ask_channel, on_action=on_channel),
    S.INVOICE: Step(ask_invoice, on_photo=on_invoice, expects="photo"),
    S.INVOICE_NUMBER: Step(ask_invoice_number, on_text=on_invoice_number, expects="text"),
    S.SUMMARY: Step(ask_summary, on_action=on_summary),
}


def setup(router: Router) -> None:
    """/register and the menu button start the journey."""
    router.add_flow(Flow(FLOW, STEPS, RegisterAnswers))
    router.commands["register"] = start
