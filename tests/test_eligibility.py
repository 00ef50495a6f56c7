"""Eligibility: each reason on its own, every window's first and last day, and the database queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from storage.eligibility import Reason, Verdict, customer_today, explain_for_member, reasons, running_promotions
from storage.models import CatalogueProduct, Member, Promotion, RegisteredProduct

MODEL = "9S6-3PA2CT-038"
START, END = date(2026, 2, 1), date(2026, 5, 31)  # promotion period
INVOICE_FROM, INVOICE_TO = date(2026, 1, 15), date(2026, 4, 30)  # invoice window
RUNNING_DAY = date(2026, 3, 10)


def promotion(**overrides: Any) -> Promotion:
    values: dict[str, Any] = {
        "slug": "spring",
        "names": {"en": "Spring"},
        "starts_on": START,
        "ends_on": END,
        "invoice_from": INVOICE_FROM,
        "invoice_to": INVOICE_TO,
        "eligible_models": [MODEL],
        "eligible_countries": ["SG", "TW"],
        "prize_kind": "digital_code",
        "timezone": "Asia/Singapore",
    }
    values.update(overrides)
    return Promotion(**values)


def product(model: str = MODEL, **overrides: Any) -> RegisteredProduct:
    values: dict[str, Any] = {
        "serial": "BA9H040230046",
        "purchase_country": "SG",
        "store_name": "Challenger",
        "purchase_date": date(2026, 3, 3),
        "channel": "retail",
        "invoice_path": "ab/cd/abcd.jpg",
        "catalogue_product": CatalogueProduct(category="monitor", name="PRO MP241", model=model, warranty_months=36),
    }
    values.update(overrides)
    return RegisteredProduct(**values)


# ---------------------------------------------------------------- one reason at a time


def test_eligible_product_has_no_reasons() -> None:
    assert reasons(product(), "SG", promotion(), RUNNING_DAY) == []


def test_model_not_eligible() -> None:
    assert reasons(product("9S6-3CA91T-003"), "SG", promotion(), RUNNING_DAY) == [Reason.MODEL_NOT_ELIGIBLE]


def test_model_is_compared_without_case_or_spaces() -> None:
    assert reasons(product(" 9s6-3pa2ct-038 "), "SG", promotion(), RUNNING_DAY) == []


def test_invoice_missing() -> None:
    assert reasons(product(invoice_path=None), "SG", promotion(), RUNNING_DAY) == [Reason.INVOICE_MISSING]


@pytest.mark.parametrize(
    ("member_country", "purchase_country"),
    [("MY", "SG"), ("SG", "MY"), (None, "SG"), ("", "SG")],
    ids=["lives-elsewhere", "bought-elsewhere", "no-country", "empty-country"],
)
def test_country_not_eligible(member_country: str | None, purchase_country: str) -> None:
    assert reasons(product(purchase_country=purchase_country), member_country, promotion(), RUNNING_DAY) == [
        Reason.COUNTRY_NOT_ELIGIBLE
    ]


def test_country_codes_are_compared_without_case() -> None:
    assert reasons(product(purchase_country="tw"), "sg", promotion(), RUNNING_DAY) == []


def test_every_reason_at_once_in_a_fixed_order() -> None:
    item = product("OTHER-MODEL", purchase_date=date(2025, 12, 1), purchase_country="MY", invoice_path=None)
    assert reasons(item, "MY", promotion(), date(2026, 6, 1)) == [
        Reason.NOT_RUNNING,
        Reason.MODEL_NOT_ELIGIBLE,
        Reason.INVOICE_DATE_OUTSIDE,
        Reason.COUNTRY_NOT_ELIGIBLE,
        Reason.INVOICE_MISSING,
    ]


# ---------------------------------------------------------------- boundaries (inclusive)


@pytest.mark.parametrize(
    ("today", "running"),
    [(START - timedelta(days=1), False), (START, True), (END, True), (END + timedelta(days=1), False)],
    ids=["day-before-start", "first-day", "last-day", "day-after-end"],
)
def test_promotion_period_boundaries(today: date, running: bool) -> None:
    assert reasons(product(), "SG", promotion(), today) == ([] if running else [Reason.NOT_RUNNING])


@pytest.mark.parametrize(
    ("purchased", "inside"),
    [
        (INVOICE_FROM - timedelta(days=1), False),
        (INVOICE_FROM, True),
        (INVOICE_TO, True),
        (INVOICE_TO + timedelta(days=1), False),
    ],
    ids=["day-before-window", "first-day", "last-day", "day-after-window"],
)
def test_invoice_window_boundaries(purchased: date, inside: bool) -> None:
    assert reasons(product(purchase_date=purchased), "SG", promotion(), RUNNING_DAY) == (
        [] if inside else [Reason.INVOICE_DATE_OUTSIDE]
    )


def test_invoice_window_is_independent_of_the_period() -> None:
    # Bought before the promotion started, but inside its invoice window: fine.
    assert reasons(product(purchase_date=date(2026, 1, 20)), "SG", promotion(), RUNNING_DAY) == []


@pytest.mark.parametrize(
    ("now", "running"),
    [
        (datetime(2026, 1, 31, 15, 59, tzinfo=UTC), False),  # 23:59 on Jan 31 in Singapore
        (datetime(2026, 1, 31, 16, 0, tzinfo=UTC), True),  # 00:00 on Feb 1 in Singapore
        (datetime(2026, 5, 31, 15, 59, tzinfo=UTC), True),  # 23:59 on May 31 in Singapore
        (datetime(2026, 5, 31, 16, 0, tzinfo=UTC), False),  # 00:00 on Jun 1 in Singapore
    ],
)
def test_a_moment_is_judged_in_the_promotions_timezone(now: datetime, running: bool) -> None:
    assert (Reason.NOT_RUNNING not in reasons(product(), "SG", promotion(), now)) is running


def test_customer_today_uses_their_countrys_zone() -> None:
    late_utc = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    assert customer_today(late_utc, "SG") == date(2026, 3, 11)  # 01:00 in Singapore
    assert customer_today(late_utc, "GB") == date(2026, 3, 10)
    assert customer_today(late_utc, None) == date(2026, 3, 10)  # unknown: UTC
    assert customer_today(datetime(2026, 3, 11, 3, 0, tzinfo=UTC), "US") == date(2026, 3, 10)  # evening across the US


# ---------------------------------------------------------------- over the database


async def _member_with(session: AsyncSession, country: str | None, *items: RegisteredProduct) -> int:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    member = Member(telegram_user_id=5001, chat_id=5001, country=country, created_at=now, updated_at=now)
    session.add(member)
    await session.flush()
    for number, item in enumerate(items):
        item.member_id = member.id
        item.registered_at = now + timedelta(minutes=number)
        session.add(item)
    await session.flush()
    return member.id


async def test_running_promotions_on_each_side_of_the_boundaries(session: AsyncSession) -> None:
    session.add_all(
        [
            promotion(slug="past", starts_on=date(2025, 1, 1), ends_on=START - timedelta(days=1)),
            promotion(slug="now"),
            promotion(slug="later", starts_on=END + timedelta(days=1), ends_on=date(2026, 12, 31)),
        ]
    )
    await session.flush()
    assert [p.slug for p in await running_promotions(session, START - timedelta(days=1))] == ["past"]
    assert [p.slug for p in await running_promotions(session, START)] == ["now"]
    assert [p.slug for p in await running_promotions(session, END)] == ["now"]
    assert [p.slug for p in await running_promotions(session, END + timedelta(days=1))] == ["later"]
    # A moment: 00:30 on Feb 1 in Singapore is still Jan 31 in UTC.
    assert [p.slug for p in await running_promotions(session, datetime(2026, 1, 31, 16, 30, tzinfo=UTC))] == ["now"]


async def test_explain_for_member(session: AsyncSession) -> None:
    good = product(serial="BA9H040230046")
    late = product(
        serial="BA9H616425247",
        purchase_date=INVOICE_TO + timedelta(days=1),
        invoice_path=None,
        catalogue_product=good.catalogue_product,
    )
    member_id = await _member_with(session, "SG", good, late)
    spring = promotion()
    session.add_all([spring, promotion(slug="over", starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31))])
    await session.flush()

    verdicts = await explain_for_member(session, member_id, RUNNING_DAY)
    assert [(v.promotion.slug, v.product.serial, v.reasons) for v in verdicts] == [
        ("spring", "BA9H040230046", []),
        ("spring", "BA9H616425247", [Reason.INVOICE_DATE_OUTSIDE, Reason.INVOICE_MISSING]),
    ]
    promotion_, product_, reasons_ = verdicts[0]  # still unpacks as a plain triple
    assert (
        isinstance(verdicts[0], Verdict)
        and verdicts[0].eligible
        and promotion_ is spring
        and product_ is good
        and reasons_ == []
    )

    assert await explain_for_member(session, member_id, date(2027, 1, 1)) == []  # nothing running
    assert await explain_for_member(session, member_id + 999, RUNNING_DAY) == []  # no such member


def test_the_last_day_is_the_customers_calendar_day() -> None:
    """At 20:00 UTC on the last day it is already the next day in Singapore, not in London."""
    evening = datetime(END.year, END.month, END.day, 20, 0, tzinfo=UTC)
    open_everywhere = promotion(eligible_countries=["SG", "GB"])
    assert reasons(product(purchase_country="GB"), "GB", open_everywhere, evening) == []
    assert reasons(product(), "SG", open_everywhere, evening) == [Reason.NOT_RUNNING]


def test_cooling_off_window_counts_from_the_purchase_date() -> None:
    rule = promotion(cooling_off_days=14)
    bought = product(purchase_date=date(2026, 3, 3))
    assert reasons(bought, "SG", rule, date(2026, 3, 16)) == [Reason.COOLING_OFF]
    assert reasons(bought, "SG", rule, date(2026, 3, 17)) == []


def test_redemption_deadline_extends_beyond_the_period() -> None:
    rule = promotion(redeem_deadline=date(2026, 6, 30))
    assert reasons(product(), "SG", rule, date(2026, 6, 30)) == []
    assert reasons(product(), "SG", rule, date(2026, 7, 1)) == [Reason.DEADLINE_PASSED]
    assert reasons(product(), "SG", promotion(), date(2026, 6, 1)) == [Reason.NOT_RUNNING]


def test_residence_only_needs_the_purchase_in_the_home_country() -> None:
    rule = promotion(residence_only=True)
    assert reasons(product(purchase_country="TW"), "SG", rule, date(2026, 3, 10)) == [Reason.NOT_COUNTRY_OF_RESIDENCE]
    assert reasons(product(purchase_country="SG"), "SG", rule, date(2026, 3, 10)) == []
