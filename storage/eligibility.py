"""Whether a registered product can be redeemed for a promotion, and if not, every reason why.

The core, `reasons()`, is a pure function over plain model objects: no session, no clock, no
Telegram. It returns *all* the reasons that apply (not only the first), in a fixed order, so the
customer can fix everything at once. An empty list means eligible. Later rules (redeem limit per
e-mail, already redeemed, prize stock, cooling-off…) are meant to be added here as new `Reason`
members and new checks in `reasons()` (pure) or in `explain_for_member()` (needs the database).

Decisions, written down:

* **Dates are inclusive on both ends.** A promotion running 2026-02-01..2026-12-31 runs on both
  of those days; an invoice dated on either day counts.
* **"Today" is the customer's calendar date.** Callers pass either a `date` (used as is) or an
  aware `datetime`: with the member's country known it becomes the date in that country
  (`customer_today`), so a promotion ending on the 31st is still open to a customer for whom it
  is the 31st. Without a country, the promotion's own `timezone` decides.
* **Country.** The guide says "make sure the country you live in is in the eligible countries",
  and the promotions file describes `eligible_countries` as the purchase region. Both are checked:
  the member's country of residence (`Member.country`) *and* the product's purchase country must
  be in the list. Either failing gives one `COUNTRY_NOT_ELIGIBLE`. A member without a country
  (profile not finished) cannot be confirmed, so that is `COUNTRY_NOT_ELIGIBLE` too.
* **Model.** `eligible_models` holds catalogue `model` numbers (not names), compared exactly
  after trimming, case-insensitively.
* **Invoice.** A product without an invoice photo cannot be redeemed: `INVOICE_MISSING`.
"""

from __future__ import annotations

import enum
from collections import Counter
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import get_global
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, Promotion, RegisteredProduct

Today = date | datetime


class Reason(enum.StrEnum):
    """Why a product cannot be redeemed; the value is a locale-key suffix for the explanation."""

    NOT_RUNNING = "not_running"  # today is before starts_on, or after ends_on when there is no deadline
    DEADLINE_PASSED = "deadline_passed"  # after the separate redemption deadline
    MODEL_NOT_ELIGIBLE = "model_not_eligible"
    INVOICE_DATE_OUTSIDE = "invoice_date_outside"  # purchase date outside invoice_from..invoice_to
    COUNTRY_NOT_ELIGIBLE = "country_not_eligible"  # residence or purchase country not listed
    INVOICE_MISSING = "invoice_missing"
    COOLING_OFF = "cooling_off"  # bought too recently: counts only cooling_off_days after purchase
    NOT_COUNTRY_OF_RESIDENCE = "not_country_of_residence"  # residence_only: bought abroad
    PAUSED = "paused"  # an admin paused the promotion (until a day, or until resumed)
    ENDED = "ended"  # an admin ended the promotion early


class Verdict(NamedTuple):
    """One promotion × one product; unpacks as `(promotion, product, reasons)`."""

    promotion: Promotion
    product: RegisteredProduct
    reasons: list[Reason]

    @property
    def eligible(self) -> bool:
        return not self.reasons


# ---------------------------------------------------------------- days


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def promotion_day(promotion: Promotion, today: Today) -> date:
    """The date to judge `promotion`'s period by: a date as given, a datetime in the promotion's timezone."""
    if isinstance(today, datetime):
        return today.astimezone(_zone(promotion.timezone)).date()
    return today


def customer_today(now: datetime, country: str | None) -> date:
    """The customer's calendar date, from the time zones of their country (UTC when unknown).

    A country spanning several zones (US, AU…) takes the date most of its zones agree on,
    the earlier one on a tie.
    """
    zones = get_global("territory_zones").get((country or "").upper(), []) if country else []
    if not zones:
        return now.astimezone(ZoneInfo("UTC")).date()
    counts = Counter(now.astimezone(_zone(zone)).date() for zone in zones)
    return min(counts, key=lambda day: (-counts[day], day))


# ---------------------------------------------------------------- the rules


def last_redeem_day(promotion: Promotion) -> date:
    """Claims are accepted until the redemption deadline, or the end of the period without one."""
    return promotion.redeem_deadline or promotion.ends_on


def is_running(promotion: Promotion, today: Today) -> bool:
    day = promotion_day(promotion, today)
    return promotion.starts_on <= day <= last_redeem_day(promotion)


def is_paused(promotion: Promotion, today: Today) -> bool:
    """Paused by an admin: from the pause until `paused_until` (that day claims are accepted again)."""
    if promotion.paused_at is None:
        return False
    return promotion.paused_until is None or promotion_day(promotion, today) < promotion.paused_until


def is_ended(promotion: Promotion) -> bool:
    return promotion.ended_at is not None


def redeemable_from(product: RegisteredProduct, promotion: Promotion) -> date:
    """The first day a claim counts, after the cooling-off window (the purchase day itself without one)."""
    return product.purchase_date + timedelta(days=promotion.cooling_off_days or 0)


def model_eligible(product: RegisteredProduct, promotion: Promotion) -> bool:
    wanted = {str(model).strip().upper() for model in promotion.eligible_models or []}
    return product.catalogue_product.model.strip().upper() in wanted


def invoice_date_in_window(product: RegisteredProduct, promotion: Promotion) -> bool:
    return promotion.invoice_from <= product.purchase_date <= promotion.invoice_to


def country_eligible(product: RegisteredProduct, member_country: str | None, promotion: Promotion) -> bool:
    """Both the country the member lives in and the country of purchase must be listed."""
    allowed = {str(code).strip().upper() for code in promotion.eligible_countries or []}
    residence = (member_country or "").strip().upper()
    purchase = (product.purchase_country or "").strip().upper()
    return bool(residence) and residence in allowed and purchase in allowed


def member_day(today: Today, member_country: str | None) -> Today:
    """Dates are the customer's calendar dates: a moment becomes the date in their country."""
    if isinstance(today, datetime) and member_country:
        return customer_today(today, member_country)
    return today


def reasons(product: RegisteredProduct, member_country: str | None, promotion: Promotion, today: Today) -> list[Reason]:
    """Every reason `product` cannot be redeemed for `promotion` today; empty when it can."""
    today = member_day(today, member_country)
    found: list[Reason] = []
    day = promotion_day(promotion, today)
    if is_ended(promotion):
        found.append(Reason.ENDED)
    elif is_paused(promotion, today):
        found.append(Reason.PAUSED)
    if not is_running(promotion, today):
        found.append(
            Reason.DEADLINE_PASSED
            if day > last_redeem_day(promotion) and promotion.redeem_deadline
            else Reason.NOT_RUNNING
        )
    if not model_eligible(product, promotion):
        found.append(Reason.MODEL_NOT_ELIGIBLE)
    if not invoice_date_in_window(product, promotion):
        found.append(Reason.INVOICE_DATE_OUTSIDE)
    if not country_eligible(product, member_country, promotion):
        found.append(Reason.COUNTRY_NOT_ELIGIBLE)
    if not product.invoice_path:
        found.append(Reason.INVOICE_MISSING)
    if promotion.cooling_off_days and day < redeemable_from(product, promotion):
        found.append(Reason.COOLING_OFF)
    if promotion.residence_only and (product.purchase_country or "").upper() != (member_country or "").upper():
        found.append(Reason.NOT_COUNTRY_OF_RESIDENCE)
    return found


# ---------------------------------------------------------------- over the database


async def running_promotions(session: AsyncSession, today: Today) -> list[Promotion]:
    """Promotions running on `today` (inclusive), oldest start first."""
    if isinstance(today, datetime):
        # Every promotion's own day is within a day of the UTC date; narrow in SQL, decide in Python.
        utc_day = today.astimezone(ZoneInfo("UTC")).date()
        lower, upper = date.fromordinal(utc_day.toordinal() - 1), date.fromordinal(utc_day.toordinal() + 1)
        query = select(Promotion).where(
            Promotion.starts_on <= upper, func.coalesce(Promotion.redeem_deadline, Promotion.ends_on) >= lower
        )
    else:
        query = select(Promotion).where(
            Promotion.starts_on <= today, func.coalesce(Promotion.redeem_deadline, Promotion.ends_on) >= today
        )
    rows = await session.scalars(query.order_by(Promotion.starts_on, Promotion.id))
    return [promotion for promotion in rows if is_running(promotion, today)]


async def explain_for_member(session: AsyncSession, member_id: int, today: Today) -> list[Verdict]:
    """For each running promotion and each of the member's products: the reasons (empty = eligible).

    Ordered by promotion (as `running_promotions`), then product registration order.
    """
    member = await session.get(Member, member_id)
    if member is None:
        return []
    today = member_day(today, member.country)
    promotions = await running_promotions(session, today)
    if not promotions:
        return []
    products = list(
        await session.scalars(
            select(RegisteredProduct)
            .where(RegisteredProduct.member_id == member_id)
            .order_by(RegisteredProduct.registered_at, RegisteredProduct.id)
        )
    )
    return [
        Verdict(promotion, product, reasons(product, member.country, promotion, today))
        for promotion in promotions
        for product in products
    ]
