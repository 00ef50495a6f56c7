"""Redeeming, the photos: the S/N label of each product, and what redeem-again asks for again.

Only what staff found wrong is asked again: a new S/N photo and/or a new invoice, per product.
"""

from __future__ import annotations

from bot.assets import asset_path
from conversations.journey import Action, ButtonRows, StaleButton
from conversations.photos import store_image
from conversations.products import product_label
from conversations.redeem_state import PhotoKind, S, StoredPhoto, advance, answers, product, selected_products
from conversations.turn import Turn
from locales.i18n import Raw
from storage.photo_intake import PhotoUse


async def _store_photo(turn: Turn, *, read_label: bool) -> list[object] | None:
    """Stores an image as [path, sha256, phash, serials read from its barcode]; None after
    telling the user what was wrong. The serials are compared with the product on the staff card."""
    stored = await store_image(turn, PhotoUse.STORE_AND_READ if read_label else PhotoUse.STORE)
    if stored is None:
        return None
    return [stored.path, stored.sha256, stored.phash, list(stored.serials) if read_label else []]


# ---- S/N photo ----------------------------------------------------------------------------
async def ask_sn_photo(turn: Turn) -> None:
    """Asks for a photo of the S/N label on the product itself, with an example."""
    found = await product(turn, answers(turn).photo_for)
    assert found is not None
    turn.say(
        "redeem.ask_sn_photo",
        photo=asset_path("sn_photo_example.png"),
        product=Raw(product_label(turn, found)),
        markup=turn.keyboard([]),
    )


async def on_sn_photo(turn: Turn) -> None:
    stored = await _store_photo(turn, read_label=True)
    if stored is None:
        return
    given = answers(turn)
    assert given.photo_for is not None
    await advance(turn, photos=given.photos | {given.photo_for: StoredPhoto.model_validate(stored)})


# ---- redeem again -------------------------------------------------------------------------
async def ask_again_menu(turn: Turn) -> None:
    """Only what was wrong is asked again: a new S/N photo and/or a new invoice, per product."""
    given = answers(turn)
    rows: ButtonRows = []
    for item in await selected_products(turn):
        done_sn = "✅ " if item.id in given.photos else ""
        done_inv = "✅ " if item.id in given.invoices else ""
        name = item.catalogue_product.name
        rows.append([(done_sn + turn.t("redeem.again_new_sn", product=name), Action(PhotoKind.SN.value, str(item.id)))])
        rows.append(
            [
                (
                    done_inv + turn.t("redeem.again_new_invoice", product=name),
                    Action(PhotoKind.INVOICE.value, str(item.id)),
                )
            ]
        )
    rows.append([(turn.t("redeem.again_review"), "review")])
    turn.say("redeem.again_menu", markup=turn.keyboard(rows, back=False))


async def on_again_menu(turn: Turn, action: Action) -> None:
    if action.name == "review":
        await turn.go(S.CONFIRM)
        return
    kind = PhotoKind(action.name) if action.name in set(PhotoKind) else None
    if kind is None or action.number not in answers(turn).selected:
        raise StaleButton()
    await turn.go(S.AGAIN_PHOTO, photo_for=action.number, photo_kind=kind)


async def ask_again_photo(turn: Turn) -> None:
    given = answers(turn)
    found = await product(turn, given.photo_for)
    assert found is not None
    if given.photo_kind is PhotoKind.INVOICE:
        label = Raw(product_label(turn, found))
        turn.say(
            "redeem.again_ask_invoice", photo=asset_path("invoice_example.png"), product=label, markup=turn.keyboard([])
        )
    else:
        await ask_sn_photo(turn)


async def on_again_photo(turn: Turn) -> None:
    given = answers(turn)
    invoice = given.photo_kind is PhotoKind.INVOICE
    stored = await _store_photo(turn, read_label=not invoice)
    if stored is None:
        return
    assert given.photo_for is not None
    photo = {given.photo_for: StoredPhoto.model_validate(stored)}
    if invoice:
        await turn.go(S.AGAIN_MENU, invoices=given.invoices | photo)
    else:
        await turn.go(S.AGAIN_MENU, photos=given.photos | photo)
