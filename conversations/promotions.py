"""Promotions: the guide's "Promotion Redeem" page, one message per running promotion.

`/promotions` (or the 🎁 menu button) shows each running promotion open to the member's country
of residence with its facts: period, invoice dates, redeem limit per e-mail and how much of it
this e-mail used, prize, lucky draw, processing time, and which of the member's products can be
redeemed now. Buttons (global, "g:promo:<id>:<what>"): Eligible products, Eligible countries,
Redeem; Landing page and Redeem guide are URL buttons. Promotions running only for other
countries are counted in a closing line.

Redeem prefers the redeem module's promotion button action ("redeem", preselecting this
promotion), then its `/redeem` command; without either, the user is told to send /redeem.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from conversations.faq import promotion_name
from conversations.journey import Action
from conversations.products import format_day, product_label
from conversations.profile import require_profile
from conversations.replies import fit_lines, main_menu
from conversations.router import GlobalAction, Router
from conversations.turn import Turn
from locales.countries import country_name
from locales.i18n import Raw, format_money
from storage import eligibility, promotions
from storage.models import PrizeKind, Promotion
from storage.promotions import Offer
from storage.review import CASHBACK_WORKING_DAYS
from storage.texts import in_language

WHAT = ("products", "countries", "redeem")
READY_SHOWN = 10  # products named on a card; more are counted (the card stays far below 4096 characters)


# ---- formatting shared with /status ----------------------------------------------------------
def localized(turn: Turn, texts: dict[str, object] | None) -> str:
    """A per-language text of a promotion (prize description, draw prize): the user's, else English."""
    return in_language(texts, turn.language)


def money(turn: Turn, promotion: Promotion) -> str:
    """The cashback amount in the user's language, the currency named ("50.00 Singapore dollars")."""
    if promotion.cashback_amount is None:
        return ""
    return format_money(promotion.cashback_amount, promotion.currency or "", turn.language)


# ---- one promotion ---------------------------------------------------------------------------
def _prize_line(turn: Turn, promotion: Promotion) -> str:
    description = localized(turn, promotion.prize_description)
    if promotion.prize_kind == PrizeKind.CASHBACK:
        return turn.t("promotions.prize_cashback", amount=money(turn, promotion))
    if promotion.prize_kind == PrizeKind.PHYSICAL:
        return (
            turn.t("promotions.prize_physical", description=description)
            if description
            else turn.t("promotions.prize_physical_plain")
        )
    return (
        turn.t("promotions.prize_code", description=description)
        if description
        else turn.t("promotions.prize_code_plain")
    )


def _processing_lines(turn: Turn, promotion: Promotion) -> list[str]:
    low, high = promotion.processing_days_min, promotion.processing_days_max
    review = (
        turn.t("promotions.review_days", min=low, max=high)
        if low != high
        else turn.t("promotions.review_days_fixed", days=high)
    )
    deliveries: dict[str, str] = {
        PrizeKind.CASHBACK: "promotions.delivery_cashback",
        PrizeKind.PHYSICAL: "promotions.delivery_physical",
    }
    delivery = deliveries.get(promotion.prize_kind, "promotions.delivery_code")
    weeks = promotions.PHYSICAL_DELIVERY_WEEKS
    return [review, turn.t(delivery, days=CASHBACK_WORKING_DAYS, min_weeks=weeks[0], max_weeks=weeks[1])]


def _for_you(turn: Turn, offer: Offer) -> str:
    if offer.ready and offer.remaining:
        separator = turn.t("promotions.list_separator")
        shown = [product_label(turn, p) for p in offer.ready[:READY_SHOWN]]
        if len(offer.ready) > READY_SHOWN:
            shown.append(turn.t("promotions.ready_more", count=len(offer.ready) - READY_SHOWN))
        return turn.t("promotions.ready", products=Raw(separator.join(shown)))
    if offer.remaining == 0:
        return turn.t("promotions.limit_used_up")
    if offer.others:
        return turn.t("promotions.not_ready")
    return turn.t("promotions.no_products")


def render_card(turn: Turn, offer: Offer) -> str:
    """The facts of one promotion, as the guide's Promotion Redeem page lists them."""
    promotion = offer.promotion
    assert turn.member is not None
    limit_key = "promotions.limit" if offer.remaining else "promotions.limit_reached"
    lines = [
        turn.t("promotions.name", name=promotion_name(turn, promotion)),
        turn.t(
            "promotions.period", start=format_day(turn, promotion.starts_on), end=format_day(turn, promotion.ends_on)
        ),
        turn.t(
            "promotions.invoice_dates",
            start=format_day(turn, promotion.invoice_from),
            end=format_day(turn, promotion.invoice_to),
        ),
        turn.t(limit_key, limit=promotion.redeem_limit_per_email, used=offer.used, email=turn.member.email or ""),
        _prize_line(turn, promotion),
    ]
    state = _state_line(turn, promotion)
    if state:
        lines.insert(1, state)
    if promotion.lucky_draw:
        prize = localized(turn, promotion.draw_prize)
        if promotion.draw_date is not None:
            lines.append(turn.t("promotions.lucky_draw", prize=prize, date=format_day(turn, promotion.draw_date)))
        else:
            lines.append(turn.t("promotions.lucky_draw_undated", prize=prize))
    lines += _processing_lines(turn, promotion)
    lines += _rule_lines(turn, promotion)
    lines.append("")
    lines.append(_for_you(turn, offer))
    return "\n".join(lines)


def _state_line(turn: Turn, promotion: Promotion) -> str | None:
    """Why nobody can redeem it now, when an admin paused or ended it (staff/controls.py)."""
    if eligibility.is_ended(promotion):
        return turn.t("promotions.state_ended")
    if not eligibility.is_paused(promotion, turn.now):
        return None
    if promotion.paused_until is None:
        return turn.t("promotions.state_paused")
    return turn.t("promotions.state_paused_until", date=format_day(turn, promotion.paused_until))


def _rule_lines(turn: Turn, promotion: Promotion) -> list[str]:
    """The promotion's extra rules, each said plainly where it applies."""
    lines = []
    if promotion.redeem_deadline:
        lines.append(turn.t("promotions.rule_deadline", date=format_day(turn, promotion.redeem_deadline)))
    if promotion.cooling_off_days:
        lines.append(turn.t("promotions.rule_cooling_off", count=promotion.cooling_off_days))
    if promotion.residence_only:
        lines.append(turn.t("promotions.rule_residence_only"))
    if promotion.household_limit:
        lines.append(turn.t("promotions.rule_household", count=promotion.household_limit))
    if promotion.while_stock_lasts:
        lines.append(turn.t("promotions.rule_while_stock_lasts"))
    return lines


def card_buttons(turn: Turn, promotion: Promotion) -> InlineKeyboardMarkup:
    def action(key: str, what: str) -> InlineKeyboardButton:
        return turn.global_button(turn.t(key), f"promo:{promotion.id}:{what}")

    rows = [[action("promotions.button_products", "products"), action("promotions.button_countries", "countries")]]
    links = []
    if promotion.landing_url:
        links.append(InlineKeyboardButton(turn.t("promotions.button_landing"), url=promotion.landing_url))
    if promotion.guide_url:
        links.append(InlineKeyboardButton(turn.t("promotions.button_guide"), url=promotion.guide_url))
    if links:
        rows.append(links)
    rows.append([action("promotions.button_redeem", "redeem")])
    return InlineKeyboardMarkup(rows)


# ---- /promotions -----------------------------------------------------------------------------
async def show_promotions(turn: Turn) -> None:
    """/promotions: one card per running promotion the member can take part in."""
    if not await require_profile(turn, then="promotions"):
        return
    member = turn.member
    assert member is not None
    offers = await promotions.offers_for_member(turn.session, member, turn.now)
    country = country_name(member.country, turn.language) if member.country else turn.t("promotions.unknown_country")
    if offers.running == 0:
        turn.say("promotions.none", markup=main_menu(turn))
        return
    if not offers.open:
        turn.say("promotions.none_for_country", count=offers.running, country=country, markup=main_menu(turn))
        return
    for number, offer in enumerate(offers.open):
        card = render_card(turn, offer)
        if number == 0:  # the heading rides on the first card: one message less
            card = f"{turn.t('promotions.title', count=len(offers.open))}\n\n{card}"
        turn.say_text(card, markup=card_buttons(turn, offer.promotion))
    if offers.closed:
        turn.say("promotions.others_closed", count=offers.closed, country=country)


# ---- the buttons -----------------------------------------------------------------------------
async def _eligible_products(turn: Turn, promotion: Promotion) -> None:
    items = await promotions.eligible_products(turn.session, promotion)
    lines = []
    for item in items:
        if item.name is None:
            lines.append(turn.t("promotions.product_unknown", model=item.model))
        else:
            category = (
                turn.t(f"categories.{item.category}")
                if turn.services.translator.has(f"categories.{item.category}")
                else item.category
            )
            lines.append(turn.t("promotions.product_line", name=item.name, model=item.model, category=category or ""))
    body = fit_lines(turn, lines) if lines else turn.t("promotions.products_none")
    turn.say("promotions.products_title", promotion=promotion_name(turn, promotion), lines=Raw(body))


async def _eligible_countries(turn: Turn, promotion: Promotion) -> None:
    names = sorted(
        (country_name(str(code), turn.language) for code in promotion.eligible_countries or []), key=str.casefold
    )
    member_country = turn.member.country if turn.member is not None else None
    if member_country:
        yours_key = (
            "promotions.country_yours_in"
            if promotions.open_to_residents_of(promotion, member_country)
            else "promotions.country_yours_out"
        )
        yours = turn.t(yours_key, country=country_name(member_country, turn.language))
    else:
        yours = ""
    turn.say(
        "promotions.countries_title",
        promotion=promotion_name(turn, promotion),
        countries=Raw(fit_lines(turn, [turn.t("promotions.country_line", country=name) for name in names])),
        yours=Raw(yours),
    )


def on_button(router: Router) -> GlobalAction:
    async def handler(turn: Turn, action: Action) -> None:
        """g:promo:<id>:products | countries | redeem"""
        raw_id, _, what = action.argument.partition(":")
        promotion = await promotions.get(turn.session, int(raw_id)) if raw_id.isdigit() else None
        if promotion is None or what not in WHAT:
            turn.notify("promotions.not_found", alert=True)
            return
        if what == "products":
            await _eligible_products(turn, promotion)
        elif what == "countries":
            await _eligible_countries(turn, promotion)
        else:
            await _redeem(router, turn, promotion)

    return handler


async def _redeem(router: Router, turn: Turn, promotion: Promotion) -> None:
    """Starts redeeming this promotion, the way the redeem module offers."""
    from_button = router.actions.get("redeem")
    if from_button is not None:
        await from_button(turn, Action("redeem", str(promotion.id)))
        return
    command = router.commands.get("redeem")
    if command is None:
        turn.say("promotions.redeem_unavailable")
        return
    if turn.state is not None and turn.state.flow in router.flows and "redeem" not in router.anytime:
        turn.say("errors.busy", command="redeem")
        turn.reask()
        return
    await command(turn)


def setup(router: Router) -> None:
    """/promotions and the menu button; the promotion card's buttons."""
    router.commands["promotions"] = show_promotions
    router.actions["promo"] = on_button(router)
