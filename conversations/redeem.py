"""Redeeming a promotion (the guide's Steps 6-1 to 7-2), and redeeming again after staff asked.

Choose the promotion and products → a photo of each product's S/N label → lucky-draw answer
→ shipping address (physical prizes, prefilled) → payout details (cashback) → confirmation page
→ submit. The journey goes to the first
piece the claim still misses each time (redeem_state.advance, on storage's rule), so Edit simply
removes a piece. This module holds the entry, the choice (promotion, products), the lucky draw
and the step table; redeem_photos.py, redeem_address.py, redeem_payout.py and redeem_submit.py the rest.
"""

from __future__ import annotations

import secrets

from conversations.faq import explain_reason, promotion_name
from conversations.flow import Flow, Step
from conversations.journey import Action, ButtonRows, StaleButton
from conversations.products import format_day, product_label
from conversations.redeem_address import ask_address, ask_address_confirm, on_address, on_address_confirm
from conversations.redeem_payout import ask_details, ask_method, on_details, on_method
from conversations.redeem_photos import (
    ask_again_menu,
    ask_again_photo,
    ask_sn_photo,
    on_again_menu,
    on_again_photo,
    on_sn_photo,
)
from conversations.redeem_state import FLOW, RedeemAnswers, S, advance, answers, promotion
from conversations.redeem_submit import ask_confirm, on_confirm
from conversations.replies import fit_lines, main_menu
from conversations.router import Router
from conversations.turn import Turn
from locales.i18n import Raw
from storage import claims, redeem_options
from storage.models import ClaimStatus
from storage.photo_intake import PhotoUse
from storage.texts import in_language

__all__ = ["FLOW", "S", "STEPS", "setup"]


# ---- entry --------------------------------------------------------------------------------
async def start(turn: Turn, promotion_id: int | None = None) -> None:
    """Shows what can be redeemed; skips the promotion choice when only one applies."""
    from conversations.profile import require_profile
    from conversations.profile_email import verify_then

    if not await require_profile(turn, then="redeem") or not await verify_then(turn, then="redeem"):
        return
    assert turn.member is not None
    options = await redeem_options.redeem_options(turn.session, turn.member, turn.now)
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
    await turn.go(S.PROMOTION, nonce=secrets.token_hex(8))
    if len(usable) == 1:
        await turn.go(S.PRODUCTS, promotion_id=usable[0].promotion.id, selected=[])


async def from_button(turn: Turn, action: Action) -> None:
    """The Redeem button of a promotion (g:redeem:<id>)."""
    if turn.state is not None:
        turn.notify("errors.busy", command="redeem")
        return
    await start(turn, int(action.argument) if action.argument.isdecimal() else None)


async def start_command(turn: Turn) -> None:
    await start(turn)


def _explain_others(turn: Turn, option: redeem_options.PromotionOptions) -> None:
    """'Why not the others?': every reason, per product."""
    if not option.others:
        return
    separator = turn.t("eligibility.reason_separator")
    country = turn.member.country if turn.member else None
    lines = [
        turn.t(
            "redeem.why_line",
            product=Raw(product_label(turn, item)),
            reasons=Raw(separator.join(explain_reason(turn, r, item, option.promotion, country) for r in reasons)),
        )
        for item, reasons in option.others
    ]
    turn.say("redeem.why_not", promotion=promotion_name(turn, option.promotion), lines=Raw(fit_lines(turn, lines)))


# ---- promotion ----------------------------------------------------------------------------
async def ask_promotion(turn: Turn) -> None:
    """Which promotion, when several have redeemable products."""
    assert turn.member is not None
    options = [o for o in await redeem_options.redeem_options(turn.session, turn.member, turn.now) if o.eligible]
    rows: ButtonRows = [[(promotion_name(turn, o.promotion), Action("p", str(o.promotion.id)))] for o in options]
    turn.say("redeem.ask_promotion", markup=turn.keyboard(rows, back=False))


async def on_promotion(turn: Turn, action: Action) -> None:
    if action.name != "p":
        raise StaleButton()
    await turn.go(S.PRODUCTS, promotion_id=action.number, selected=[])


async def _option(turn: Turn) -> redeem_options.PromotionOptions | None:
    assert turn.member is not None
    wanted = answers(turn).promotion_id
    return next(
        (
            o
            for o in await redeem_options.redeem_options(turn.session, turn.member, turn.now)
            if o.promotion.id == wanted
        ),
        None,
    )


# ---- products -----------------------------------------------------------------------------
async def ask_products(turn: Turn) -> None:
    """The redeemable products to tick, and 'Why not the others?'."""
    option = await _option(turn)
    if option is None or not option.eligible:
        await turn.finish()
        turn.say("redeem.nothing_eligible", markup=main_menu(turn))
        return
    selected = set(answers(turn).selected)
    rows: ButtonRows = [
        [(("✅ " if p.id in selected else "▫️ ") + product_label(turn, p), Action("t", str(p.id)))]
        for p in option.eligible
    ]
    rows.append([(turn.t("redeem.next"), "next")])
    if option.others:
        rows.append([(turn.t("redeem.why_not_button"), "why")])
    turn.say(
        "redeem.ask_products",
        promotion=promotion_name(turn, option.promotion),
        remaining=option.remaining,
        markup=turn.keyboard(rows),
        edit=turn.action is not None and turn.action.name == "t",
    )


async def on_products(turn: Turn, action: Action) -> None:
    """Ticks a product, explains the others, or goes on."""
    option = await _option(turn)
    if option is None:
        raise StaleButton()
    selected = list(answers(turn).selected)
    if action.name == "t":
        pid = action.number
        if pid not in {p.id for p in option.eligible}:
            raise StaleButton()
        if pid in selected:
            selected.remove(pid)
        elif len(selected) >= option.remaining:
            turn.notify("eligibility.limit_reached", alert=True, limit=option.promotion.redeem_limit_per_email)
            return
        else:
            selected.append(pid)
        await turn.go(S.PRODUCTS, selected=selected)
    elif action.name == "why":
        _explain_others(turn, option)
    elif action.name == "next":
        if not selected:
            turn.notify("redeem.pick_one", alert=True)
            return
        await advance(turn, photos={})
    else:
        raise StaleButton()


# ---- lucky draw ---------------------------------------------------------------------------
async def ask_lucky(turn: Turn) -> None:
    """The lucky-draw question is required: yes or no."""
    found = await promotion(turn)
    prize = in_language(found.draw_prize, turn.language)
    turn.say(
        "redeem.ask_lucky",
        promotion=promotion_name(turn, found),
        prize=prize,
        draw_date=format_day(turn, found.draw_date) if found.draw_date else "—",
        markup=turn.keyboard([[(turn.t("buttons.yes"), "yes"), (turn.t("buttons.no"), "no")]]),
    )


async def on_lucky(turn: Turn, action: Action) -> None:
    if action.name not in ("yes", "no"):
        raise StaleButton()
    await advance(turn, lucky=action.name == "yes")


# ---- redeem again -------------------------------------------------------------------------
async def again(turn: Turn, action: Action) -> None:
    """'Redeem again' (g:again:<order id>) from the rejection message or /status: the reason,
    then what to fix."""
    if turn.state is not None:
        turn.notify("errors.busy", command="redeem")
        return
    claim = await claims.claim_of_member(turn.session, turn.member.id, action.argument) if turn.member else None
    if claim is None or claim.status != ClaimStatus.MISSING_INFO:
        turn.notify("redeem.again_not_possible", alert=True)
        return
    await turn.go(
        S.AGAIN_MENU,
        again_order=claim.order_id,
        promotion_id=claim.promotion_id,
        selected=[i.registered_product_id for i in claim.items],
        photos={},
        invoices={},
        nonce=secrets.token_hex(8),
    )
    turn.say("redeem.again_reason", order_id=claim.order_id, reason=claim.reason or "—")


STEPS: dict[S, Step] = {
    S.PROMOTION: Step(ask_promotion, on_action=on_promotion),
    S.PRODUCTS: Step(ask_products, on_action=on_products),
    S.SN_PHOTO: Step(ask_sn_photo, on_photo=on_sn_photo, expects="photo", photo_use=PhotoUse.STORE_AND_READ),
    S.LUCKY: Step(ask_lucky, on_action=on_lucky),
    S.ADDRESS: Step(ask_address, on_text=on_address, expects="text"),
    S.ADDRESS_CONFIRM: Step(ask_address_confirm, on_action=on_address_confirm),
    S.PAYOUT_METHOD: Step(ask_method, on_action=on_method),
    S.PAYOUT: Step(ask_details, on_text=on_details, expects="text"),
    S.AGAIN_MENU: Step(ask_again_menu, on_action=on_again_menu),
    S.AGAIN_PHOTO: Step(ask_again_photo, on_photo=on_again_photo, expects="photo", photo_use=PhotoUse.STORE_AND_READ),
    S.CONFIRM: Step(ask_confirm, on_action=on_confirm),
}


def setup(router: Router) -> None:
    """/redeem, the promotions' Redeem button and 'Redeem again'."""
    router.add_flow(Flow(FLOW, STEPS, RedeemAnswers))
    router.commands["redeem"] = start_command
    router.actions["redeem"] = from_button
    router.actions["again"] = again
