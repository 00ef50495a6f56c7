"""Redeeming a promotion (the guide's Steps 6-1 to 7-2), and redeeming again after staff asked.

Choose the promotion and products → a photo of each product's S/N label → lucky-draw answer
→ shipping address (physical prizes) → confirmation page → submit. The journey asks for the
next missing piece each time, so Edit simply removes a piece and asks again.
"""

from __future__ import annotations

import enum
import secrets
from datetime import date

from bot.assets import asset_path
from locales.countries import country_name
from locales.i18n import Raw
from storage.media import thumbnail
from conversations.faq import explain_reason, promotion_name
from conversations.flow import Flow, Step
from conversations.photos import store_image
from storage.photo_intake import PhotoUse
from conversations.products import format_day, product_label
from conversations.replies import fit_lines, main_menu
from conversations.router import Router
from conversations.turn import Turn
from storage import claims, members, products, promotions
from storage.models import PrizeKind, Promotion, RegisteredProduct

FLOW = "redeem"
ADDRESS_FIELDS = ("name", "street", "city", "postcode", "country", "phone")
MAX_ADDRESS_FIELD = 120


class S(enum.StrEnum):
    PROMOTION = "promotion"
    PRODUCTS = "products"
    SN_PHOTO = "sn_photo"
    LUCKY = "lucky"
    ADDRESS = "address"
    ADDRESS_CONFIRM = "address_confirm"
    AGAIN_MENU = "again_menu"
    AGAIN_PHOTO = "again_photo"
    CONFIRM = "confirm"


# ---- helpers ------------------------------------------------------------------------------
async def _promotion(turn: Turn) -> Promotion:
    promotion = await promotions.get(turn.session, turn.data["promotion_id"])
    assert promotion is not None
    return promotion


async def _product(turn: Turn, product_id: int | None) -> RegisteredProduct | None:
    """One of the member's own products (an id from the state is never trusted alone)."""
    return await products.of_member(turn.session, turn.member.id, product_id) if turn.member is not None and product_id else None


async def _products(turn: Turn) -> list[RegisteredProduct]:
    assert turn.member is not None
    found = [await products.of_member(turn.session, turn.member.id, pid) for pid in turn.data.get("selected", [])]
    return [p for p in found if p is not None]


async def _ask_next(turn: Turn) -> None:
    """Moves to the first piece still missing and asks for it."""
    data = turn.data
    promotion = await _promotion(turn)
    photos = data.get("photos", {})
    if data.get("again_order"):
        step = S.AGAIN_MENU
    else:
        missing_photo = next((pid for pid in data.get("selected", []) if str(pid) not in photos), None)
        if missing_photo is not None:
            await turn.move(FLOW, S.SN_PHOTO, photo_for=missing_photo)
            await ask_sn_photo(turn)
            return
        if promotion.lucky_draw and data.get("lucky") is None:
            step = S.LUCKY
        elif promotion.prize_kind == PrizeKind.PHYSICAL and not data.get("address_ok"):
            address = data.get("address", {})
            step = S.ADDRESS if any(f not in address for f in ADDRESS_FIELDS) else S.ADDRESS_CONFIRM
        else:
            step = S.CONFIRM
    await turn.move(FLOW, step)
    await STEPS[step].prompt(turn)


async def _store_photo(turn: Turn, *, read_label: bool) -> list[object] | None:
    """Stores an image as [path, sha256, phash, serials read from its barcode]; None after
    telling the user what was wrong. The serials are compared with the product on the staff card."""
    stored = await store_image(turn, PhotoUse.STORE_AND_READ if read_label else PhotoUse.STORE)
    if stored is None:
        return None
    return [stored.path, stored.sha256, stored.phash, list(stored.serials) if read_label else []]


# ---- entry --------------------------------------------------------------------------------
async def start(turn: Turn, promotion_id: int | None = None) -> None:
    """Shows what can be redeemed; skips the promotion choice when only one applies."""
    from conversations.profile import require_profile

    if not await require_profile(turn, then="redeem"):
        return
    assert turn.member is not None
    options = await claims.redeem_options(turn.session, turn.member, turn.now)
    if promotion_id is not None:
        options = [o for o in options if o.promotion.id == promotion_id]
    if not options:
        turn.say("redeem.no_promotions", markup=main_menu(turn))
        return
    usable = [o for o in options if o.eligible]
    await turn.finish()
    if not usable:
        turn.say("redeem.nothing_eligible")
        for option in options:
            _explain_others(turn, option)
        turn.say("redeem.register_hint", markup=main_menu(turn))
        return
    await turn.move(FLOW, S.PROMOTION, nonce=secrets.token_hex(8))
    if len(usable) == 1:
        await _choose_promotion(turn, usable[0].promotion.id)
    else:
        await ask_promotion(turn)


async def from_button(turn: Turn, argument: str) -> None:
    """The Redeem button of a promotion (g:redeem:<id>)."""
    if turn.state is not None:
        turn.notify("errors.busy", command="redeem")
        return
    await start(turn, int(argument) if argument.isdigit() else None)


async def start_command(turn: Turn) -> None:
    await start(turn)


def _explain_others(turn: Turn, option: claims.PromotionOptions) -> None:
    """'Why not the others?': every reason, per product."""
    if not option.others:
        return
    separator = turn.t("eligibility.reason_separator")
    lines = [
        turn.t("redeem.why_line", product=Raw(product_label(turn, product)), reasons=Raw(separator.join(explain_reason(turn, r, product, option.promotion, turn.member.country if turn.member else None) for r in reasons)))
        for product, reasons in option.others
    ]
    turn.say("redeem.why_not", promotion=promotion_name(turn, option.promotion), lines=Raw(fit_lines(turn, lines)))


# ---- promotion ----------------------------------------------------------------------------
async def ask_promotion(turn: Turn) -> None:
    """Which promotion, when several have redeemable products."""
    assert turn.member is not None
    options = [o for o in await claims.redeem_options(turn.session, turn.member, turn.now) if o.eligible]
    turn.say("redeem.ask_promotion", markup=turn.keyboard([[(promotion_name(turn, o.promotion), f"p:{o.promotion.id}")] for o in options], back=False))


async def on_promotion(turn: Turn, action: str) -> None:
    kind, _, value = action.partition(":")
    if kind != "p" or not value.isdigit():
        turn.notify("errors.stale_button")
        return
    await _choose_promotion(turn, int(value))


async def _choose_promotion(turn: Turn, promotion_id: int) -> None:
    await turn.move(FLOW, S.PRODUCTS, promotion_id=promotion_id, selected=[])
    await ask_products(turn)


async def _option(turn: Turn) -> claims.PromotionOptions | None:
    assert turn.member is not None
    return next((o for o in await claims.redeem_options(turn.session, turn.member, turn.now) if o.promotion.id == turn.data.get("promotion_id")), None)


# ---- products -----------------------------------------------------------------------------
async def ask_products(turn: Turn) -> None:
    """The redeemable products to tick, and 'Why not the others?'."""
    option = await _option(turn)
    if option is None or not option.eligible:
        await turn.finish()
        turn.say("redeem.nothing_eligible", markup=main_menu(turn))
        return
    selected = set(turn.data.get("selected", []))
    rows = [[(("✅ " if p.id in selected else "▫️ ") + product_label(turn, p), f"t:{p.id}")] for p in option.eligible]
    rows.append([(turn.t("redeem.next"), "next")])
    if option.others:
        rows.append([(turn.t("redeem.why_not_button"), "why")])
    turn.say(
        "redeem.ask_products",
        promotion=promotion_name(turn, option.promotion),
        remaining=option.remaining,
        markup=turn.keyboard(rows),
        edit=turn.action is not None and turn.action.startswith("t:"),
    )


async def on_products(turn: Turn, action: str) -> None:
    """Ticks a product, explains the others, or goes on."""
    option = await _option(turn)
    if option is None:
        turn.notify("errors.stale_button")
        return
    selected: list[int] = list(turn.data.get("selected", []))
    if action.startswith("t:") and action[2:].isdigit():
        pid = int(action[2:])
        if pid not in {p.id for p in option.eligible}:
            turn.notify("errors.stale_button")
            return
        if pid in selected:
            selected.remove(pid)
        elif len(selected) >= option.remaining:
            turn.notify("eligibility.limit_reached", alert=True, limit=option.promotion.redeem_limit_per_email)
            return
        else:
            selected.append(pid)
        await turn.move(FLOW, S.PRODUCTS, selected=selected)
        await ask_products(turn)
    elif action == "why":
        _explain_others(turn, option)
    elif action == "next":
        if not selected:
            turn.notify("redeem.pick_one", alert=True)
            return
        await turn.move(FLOW, S.PRODUCTS, photos={})
        await _ask_next(turn)
    else:
        turn.notify("errors.stale_button")


# ---- S/N photo ----------------------------------------------------------------------------
async def ask_sn_photo(turn: Turn) -> None:
    """Asks for a photo of the S/N label on the product itself, with an example."""
    product = await _product(turn, turn.data.get("photo_for"))
    assert product is not None
    turn.say("redeem.ask_sn_photo", photo=asset_path("sn_photo_example.png"), product=Raw(product_label(turn, product)), markup=turn.keyboard([]))


async def on_sn_photo(turn: Turn) -> None:
    stored = await _store_photo(turn, read_label=True)
    if stored is None:
        return
    photos = dict(turn.data.get("photos", {}))
    photos[str(turn.data["photo_for"])] = stored
    await turn.move(FLOW, S.SN_PHOTO, photos=photos)
    await _ask_next(turn)


# ---- lucky draw ---------------------------------------------------------------------------
async def ask_lucky(turn: Turn) -> None:
    """The lucky-draw question is required: yes or no."""
    promotion = await _promotion(turn)
    prize = (promotion.draw_prize or {}).get(turn.language) or (promotion.draw_prize or {}).get("en") or ""
    turn.say(
        "redeem.ask_lucky",
        promotion=promotion_name(turn, promotion),
        prize=prize,
        draw_date=format_day(turn, promotion.draw_date) if promotion.draw_date else "—",
        markup=turn.keyboard([[(turn.t("buttons.yes"), "yes"), (turn.t("buttons.no"), "no")]]),
    )


async def on_lucky(turn: Turn, action: str) -> None:
    if action not in ("yes", "no"):
        turn.notify("errors.stale_button")
        return
    await turn.move(FLOW, S.LUCKY, lucky=action == "yes")
    await _ask_next(turn)


# ---- shipping address ---------------------------------------------------------------------
def _field(turn: Turn) -> str:
    address = turn.data.get("address", {})
    return next(f for f in ADDRESS_FIELDS if f not in address)


async def ask_address(turn: Turn) -> None:
    """One line of the shipping address at a time."""
    turn.say(f"redeem.address_{_field(turn)}", markup=turn.keyboard([]))


async def on_address(turn: Turn) -> None:
    field = _field(turn)
    value = " ".join((turn.text or "").split())
    if field == "phone":
        try:
            value = members.normalize_phone(value, turn.member.country if turn.member else None)
        except members.InvalidPhone:
            value = ""
    if not 2 <= len(value) <= MAX_ADDRESS_FIELD:
        turn.say(f"redeem.address_invalid_{'phone' if field == 'phone' else 'text'}", limit=MAX_ADDRESS_FIELD)
        return
    address = dict(turn.data.get("address", {})) | {field: value}
    await turn.move(FLOW, S.ADDRESS, address=address)
    await _ask_next(turn)


async def ask_address_confirm(turn: Turn) -> None:
    """Reads the address back before it is used."""
    address = turn.data["address"]
    turn.say("redeem.address_check", **address, markup=turn.keyboard([[(turn.t("buttons.confirm"), "ok"), (turn.t("redeem.address_redo"), "redo")]]))


async def on_address_confirm(turn: Turn, action: str) -> None:
    if action == "ok":
        await turn.move(FLOW, S.ADDRESS_CONFIRM, address_ok=True)
    elif action == "redo":
        await turn.move(FLOW, S.ADDRESS_CONFIRM, address={}, address_ok=False)
    else:
        turn.notify("errors.stale_button")
        return
    await _ask_next(turn)


# ---- redeem again -------------------------------------------------------------------------
async def again(turn: Turn, order_id: str) -> None:
    """'Redeem again' from the rejection message or /status: show the reason, ask what to fix."""
    if turn.state is not None:
        turn.notify("errors.busy", command="redeem")
        return
    claim = await claims.claim_of_member(turn.session, turn.member.id, order_id) if turn.member else None
    if claim is None or claim.status != claims.ClaimStatus.MISSING_INFO:
        turn.notify("redeem.again_not_possible", alert=True)
        return
    await turn.move(
        FLOW,
        S.AGAIN_MENU,
        again_order=claim.order_id,
        promotion_id=claim.promotion_id,
        selected=[i.registered_product_id for i in claim.items],
        photos={},
        invoices={},
        nonce=secrets.token_hex(8),
    )
    turn.say("redeem.again_reason", order_id=claim.order_id, reason=claim.reason or "—")
    await ask_again_menu(turn)


async def ask_again_menu(turn: Turn) -> None:
    """Only what was wrong is asked again: a new S/N photo and/or a new invoice, per product."""
    data = turn.data
    rows: list[list[tuple[str, str]]] = []
    for product in await _products(turn):
        done_sn = "✅ " if str(product.id) in data.get("photos", {}) else ""
        done_inv = "✅ " if str(product.id) in data.get("invoices", {}) else ""
        rows.append([(done_sn + turn.t("redeem.again_new_sn", product=product.catalogue_product.name), f"sn:{product.id}")])
        rows.append([(done_inv + turn.t("redeem.again_new_invoice", product=product.catalogue_product.name), f"inv:{product.id}")])
    rows.append([(turn.t("redeem.again_review"), "review")])
    turn.say("redeem.again_menu", markup=turn.keyboard(rows, back=False))


async def on_again_menu(turn: Turn, action: str) -> None:
    kind, _, value = action.partition(":")
    if kind in ("sn", "inv") and value.isdigit() and int(value) in turn.data.get("selected", []):
        await turn.move(FLOW, S.AGAIN_PHOTO, photo_for=int(value), photo_kind=kind)
        await ask_again_photo(turn)
    elif action == "review":
        await turn.move(FLOW, S.CONFIRM)
        await ask_confirm(turn)
    else:
        turn.notify("errors.stale_button")


async def ask_again_photo(turn: Turn) -> None:
    product = await _product(turn, turn.data["photo_for"])
    assert product is not None
    if turn.data.get("photo_kind") == "inv":
        turn.say("redeem.again_ask_invoice", photo=asset_path("invoice_example.png"), product=Raw(product_label(turn, product)), markup=turn.keyboard([]))
    else:
        await ask_sn_photo(turn)


async def on_again_photo(turn: Turn) -> None:
    bucket = "invoices" if turn.data.get("photo_kind") == "inv" else "photos"
    stored = await _store_photo(turn, read_label=bucket == "photos")
    if stored is None:
        return
    updated = dict(turn.data.get(bucket, {})) | {str(turn.data["photo_for"]): stored}
    await turn.move(FLOW, S.AGAIN_MENU, **{bucket: updated})
    await ask_again_menu(turn)


# ---- confirmation -------------------------------------------------------------------------
async def ask_confirm(turn: Turn) -> None:
    """Every fact of the guide's Step 7-1, with the photos, then Redeem / Edit / Cancel."""
    data = turn.data
    promotion = await _promotion(turn)
    media = turn.services.media
    claim = await claims.claim_of_member(turn.session, turn.member.id, data["again_order"]) if data.get("again_order") and turn.member else None
    old_photos = {str(i.registered_product_id): i.sn_photo_path for i in claim.items} if claim else {}
    album: list[bytes] = []
    blocks: list[str] = []
    for product in await _products(turn):
        invoice = (data.get("invoices", {}).get(str(product.id)) or [product.invoice_path])[0]
        sn_photo = (data.get("photos", {}).get(str(product.id)) or [old_photos.get(str(product.id))])[0]
        album += [thumbnail(media.read(path)) for path in (invoice, sn_photo) if path]
        blocks.append(
            turn.t(
                "redeem.confirm_product",
                category=turn.t(f"categories.{product.catalogue_product.category}"),
                name=product.catalogue_product.name,
                serial=product.serial,
                date=format_day(turn, product.purchase_date),
                country=country_name(product.purchase_country, turn.language),
            )
        )
    turn.send_album(album, "redeem.photos_caption")
    lucky = ""
    if promotion.lucky_draw:
        answer = data.get("lucky") if not claim else (data.get("lucky") if data.get("lucky") is not None else claim.lucky_draw_opt_in)
        lucky = turn.t("redeem.confirm_lucky", answer=turn.t("buttons.yes" if answer else "buttons.no"))
    address = turn.t("redeem.confirm_address", **data["address"]) if data.get("address_ok") else ""
    edits: list[tuple[str, str]] = [] if data.get("again_order") else [(turn.t("redeem.edit_photos"), "edit:photos")]
    if promotion.lucky_draw and not data.get("again_order"):
        edits.append((turn.t("redeem.edit_lucky"), "edit:lucky"))
    if data.get("address_ok"):
        edits.append((turn.t("redeem.edit_address"), "edit:address"))
    turn.say(
        "redeem.confirm",
        promotion=promotion_name(turn, promotion),
        products=Raw("\n\n".join(blocks)),
        lucky=Raw(lucky),
        address=Raw(address),
        markup=turn.keyboard([[(turn.t("redeem.submit"), "submit")], edits], back=bool(data.get("again_order"))),
    )


async def on_confirm(turn: Turn, action: str) -> None:
    """Submits once (a second tap finds the step moved on), or reopens a piece to edit."""
    if action.startswith("edit:"):
        piece = action.removeprefix("edit:")
        if piece == "photos":
            await turn.move(FLOW, S.CONFIRM, photos={})
        elif piece == "lucky":
            await turn.move(FLOW, S.CONFIRM, lucky=None)
        elif piece == "address":
            await turn.move(FLOW, S.CONFIRM, address_ok=False)
        else:
            turn.notify("errors.stale_button")
            return
        await _ask_next(turn)
        return
    if action != "submit":
        turn.notify("errors.stale_button")
        return
    if turn.data.get("again_order"):
        await _resubmit(turn)
    else:
        await _submit(turn)


async def _submit(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    data = turn.data
    draft = claims.ClaimDraft(
        promotion_id=data["promotion_id"],
        items=[claims.ItemDraft(pid, *data["photos"][str(pid)]) for pid in data["selected"]],  # path, sha, phash, labels
        lucky_draw_opt_in=data.get("lucky"),
        shipping_address=data.get("address") if data.get("address_ok") else None,
        idempotency_key=f"{member.id}:{data['nonce']}",
    )
    try:
        submitted = await claims.submit(turn.session, member, draft, turn.now, turn.services.settings.staff_chat_id)
    except claims.ClaimRefused as refused:
        await turn.finish()
        turn.say(f"redeem.refused_{refused.refusal.value}", limit=refused.details.get("limit", ""), per_day=refused.details.get("per_day", ""), markup=main_menu(turn))
        return
    await turn.finish()
    await _announce(turn, submitted.claim.order_id, await _promotion_of(turn, submitted.claim.promotion_id), submitted.expected_by)


async def _resubmit(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    data = turn.data
    photos = {int(pid): claims.ItemDraft(int(pid), *photo) for pid, photo in data.get("photos", {}).items()}
    invoices = {int(pid): claims.NewInvoice(path, sha, phash) for pid, (path, sha, phash, _) in data.get("invoices", {}).items()}
    try:
        claim = await claims.resubmit(turn.session, member, data["again_order"], photos, data.get("lucky"), turn.now, turn.services.settings.staff_chat_id, invoices=invoices)
    except claims.ClaimRefused:
        await turn.finish()
        turn.say("redeem.again_not_possible", markup=main_menu(turn))
        return
    await turn.finish()
    promotion = await _promotion_of(turn, claim.promotion_id)
    await _announce(turn, claim.order_id, promotion, claims.expected_decision(turn.now, promotion))


async def _promotion_of(turn: Turn, promotion_id: int) -> Promotion:
    promotion = await promotions.get(turn.session, promotion_id)
    assert promotion is not None
    return promotion


async def _announce(turn: Turn, order_id: str, promotion: Promotion, expected_by: date) -> None:
    """The guide's 'request successfully sent', with the order ID and the promise."""
    turn.say(
        f"redeem.submitted_{promotion.prize_kind}",
        order_id=order_id,
        promotion=promotion_name(turn, promotion),
        days_min=promotion.processing_days_min,
        days_max=promotion.processing_days_max,
        expected=format_day(turn, expected_by),
        markup=main_menu(turn),
    )


STEPS: dict[S, Step] = {
    S.PROMOTION: Step(ask_promotion, on_action=on_promotion),
    S.PRODUCTS: Step(ask_products, on_action=on_products),
    S.SN_PHOTO: Step(ask_sn_photo, on_photo=on_sn_photo, expects="photo", photo_use=PhotoUse.STORE_AND_READ),
    S.LUCKY: Step(ask_lucky, on_action=on_lucky),
    S.ADDRESS: Step(ask_address, on_text=on_address, expects="text"),
    S.ADDRESS_CONFIRM: Step(ask_address_confirm, on_action=on_address_confirm),
    S.AGAIN_MENU: Step(ask_again_menu, on_action=on_again_menu),
    S.AGAIN_PHOTO: Step(ask_again_photo, on_photo=on_again_photo, expects="photo", photo_use=PhotoUse.STORE_AND_READ),
    S.CONFIRM: Step(ask_confirm, on_action=on_confirm),
}


def setup(router: Router) -> None:
    """/redeem, the promotions' Redeem button and 'Redeem again'."""
    router.add_flow(Flow(FLOW, STEPS))
    router.commands["redeem"] = start_command
    router.actions["redeem"] = from_button
    router.actions["again"] = again
