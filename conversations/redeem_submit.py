"""Redeeming, the end: the confirmation page (the guide's Step 7-1), submit or resubmit, and the
order ID with the promise (Step 7-2). The submit checks everything again in storage.claims."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from conversations.faq import promotion_name
from conversations.journey import Action, ButtonRows, StaleButton
from conversations.products import format_day
from conversations.profile_email import verify_then
from conversations.redeem_state import advance, answers, promotion, selected_products
from conversations.replies import main_menu
from conversations.turn import Turn
from locales.countries import country_name
from locales.i18n import Raw, number_range
from storage import claims, fulfilment, resubmission
from storage.models import Promotion

EDITS: dict[str, dict[str, Any]] = {
    "photos": {"photos": {}},
    "lucky": {"lucky": None},
    "address": {"address_ok": False},
    "payout": {"payout": {}, "payout_method": None},
}  # what Edit removes


async def ask_confirm(turn: Turn) -> None:
    """Every fact of the guide's Step 7-1, with the photos, then Redeem / Edit / Cancel."""
    given = answers(turn)
    found = await promotion(turn)
    media = turn.services.media
    claim = (
        await claims.claim_of_member(turn.session, turn.member.id, given.again_order)
        if given.again_order and turn.member
        else None
    )
    old_photos = {i.registered_product_id: i.sn_photo_path for i in claim.items} if claim else {}
    album: list[bytes] = []
    blocks: list[str] = []
    for item in await selected_products(turn):
        invoice = given.invoices[item.id].path if item.id in given.invoices else item.invoice_path
        sn_photo = given.photos[item.id].path if item.id in given.photos else old_photos.get(item.id)
        for path in (invoice, sn_photo):
            if path:  # decoding takes ~10 ms a photo: in a worker thread, off the event loop
                album.append(await asyncio.to_thread(media.thumbnail, path))
        blocks.append(
            turn.t(
                "redeem.confirm_product",
                category=turn.t(f"categories.{item.catalogue_product.category}"),
                name=item.catalogue_product.name,
                serial=item.serial,
                date=format_day(turn, item.purchase_date),
                country=country_name(item.purchase_country, turn.language),
            )
        )
    turn.send_album(album, "redeem.photos_caption")
    lucky = ""
    if found.lucky_draw:
        answer = given.lucky if claim is None or given.lucky is not None else claim.lucky_draw_opt_in
        lucky = turn.t("redeem.confirm_lucky", answer=turn.t("buttons.yes" if answer else "buttons.no"))
    address = turn.t("redeem.confirm_address", **given.address) if given.address_ok else ""
    if given.payout and not given.again_order:
        address += turn.t("fulfilment.payout.confirm_line", payout=fulfilment.mask(given.payout))
    edits: list[tuple[str, Action | str]] = (
        [] if given.again_order else [(turn.t("redeem.edit_photos"), Action("edit", "photos"))]
    )
    if found.lucky_draw and not given.again_order:
        edits.append((turn.t("redeem.edit_lucky"), Action("edit", "lucky")))
    if given.address_ok:
        edits.append((turn.t("redeem.edit_address"), Action("edit", "address")))
    if given.payout and not given.again_order:
        edits.append((turn.t("fulfilment.payout.edit"), Action("edit", "payout")))
    rows: ButtonRows = [[(turn.t("redeem.submit"), "submit")], edits]
    turn.say(
        "redeem.confirm",
        promotion=promotion_name(turn, found),
        products=Raw("\n\n".join(blocks)),
        lucky=Raw(lucky),
        address=Raw(address),
        markup=turn.keyboard(rows, back=bool(given.again_order)),
    )


async def on_confirm(turn: Turn, action: Action) -> None:
    """Submits once (a second tap finds the step moved on), or reopens a piece to edit."""
    if action.name == "edit" and action.argument in EDITS:
        await advance(turn, **EDITS[action.argument])
    elif action.name != "submit":
        raise StaleButton()
    elif answers(turn).again_order:
        await _resubmit(turn)
    else:
        await _submit(turn)


async def _submit(turn: Turn) -> None:
    member = turn.member
    given = answers(turn)
    assert member is not None and given.promotion_id is not None
    items = []
    for pid in given.selected:
        photo = given.photos.get(pid)
        items.append(
            claims.ItemDraft(pid, photo.path, photo.sha256, photo.phash, photo.labels)
            if photo
            else claims.ItemDraft(pid, "", "")
        )
    draft = claims.ClaimDraft(
        promotion_id=given.promotion_id,
        items=items,
        lucky_draw_opt_in=given.lucky,
        shipping_address=given.address if given.address_ok else None,
        idempotency_key=f"{member.id}:{given.nonce}",
    )
    settings = turn.services.settings
    try:
        submitted = await claims.submit(
            turn.session, member, draft, turn.now, settings.staff_chat_id, require_verified=settings.verify_email
        )
    except claims.ClaimRefused as refused:
        await turn.finish()
        if refused.refusal is claims.Refusal.EMAIL_UNVERIFIED:
            await verify_then(turn, then="redeem")
            return
        details = refused.details
        turn.say(
            f"redeem.refused_{refused.refusal.value}",
            limit=details.get("limit", ""),
            count=details.get("limit", 0),  # the plural messages' count (the household limit)
            per_day=details.get("per_day", ""),
            markup=main_menu(turn),
        )
        return
    if submitted.created and given.payout:
        await fulfilment.save_payout(turn.session, submitted.claim, given.payout, member.telegram_user_id, turn.now)
    await turn.finish()
    await _announce(
        turn, submitted.claim.order_id, await promotion(turn, submitted.claim.promotion_id), submitted.expected_by
    )


async def _resubmit(turn: Turn) -> None:
    member = turn.member
    given = answers(turn)
    assert member is not None and given.again_order is not None
    photos = {pid: claims.ItemDraft(pid, p.path, p.sha256, p.phash, p.labels) for pid, p in given.photos.items()}
    invoices = {pid: resubmission.NewInvoice(p.path, p.sha256, p.phash) for pid, p in given.invoices.items()}
    staff_chat = turn.services.settings.staff_chat_id
    try:
        claim = await resubmission.resubmit(
            turn.session, member, given.again_order, photos, given.lucky, turn.now, staff_chat, invoices=invoices
        )
    except claims.ClaimRefused:
        await turn.finish()
        turn.say("redeem.again_not_possible", markup=main_menu(turn))
        return
    await turn.finish()
    found = await promotion(turn, claim.promotion_id)
    await _announce(turn, claim.order_id, found, claims.expected_decision(turn.now, found))


async def _announce(turn: Turn, order_id: str, found: Promotion, expected_by: date) -> None:
    """The guide's 'request successfully sent', with the order ID and the promise."""
    turn.say(
        f"redeem.submitted_{found.prize_kind}",
        order_id=order_id,
        promotion=promotion_name(turn, found),
        days=number_range(found.processing_days_min, found.processing_days_max, turn.language),
        expected=format_day(turn, expected_by),
        markup=main_menu(turn),
    )
