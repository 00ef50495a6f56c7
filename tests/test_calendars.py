"""Purchase dates in every locale's forms: what each customer may type (and the examples the bot
shows them, which must read back), the day that does not exist, the ROC year of Taiwan invoices,
and the calendar's weekday header without days that have not begun where the customer lives."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from locales import calendars
from locales.calendars import DateError, read_date
from storage.db import unit_of_work
from storage.models import ConversationState
from tests.conftest import BotHarness
from tests.factories import customer
from tests.test_register import CHK, SERIAL, _to_region

LANGUAGES = ("en", "zh-Hant", "zh-Hans", "ja", "de", "fr", "es")
MARCH_14 = date(2026, 3, 14)

# (typed, language, country) → the date meant
FORMS = [
    ("2026-03-14", "en", "US"),
    ("2026/3/14", "ja", "JP"),
    ("2026.03.14", "de", "DE"),
    ("20260314", "en", "SG"),
    ("03/14/2026", "en", "US"),
    ("3/14/26", "en", "US"),
    ("14/03/2026", "en", "GB"),
    ("14/03/2026", "en", "US"),  # only day-first makes a month of it
    ("14.03.2026", "de", "DE"),
    ("14.3.2026.", "de", "AT"),
    ("14-03-2026", "es", "ES"),
    ("14/03/2026", "fr", "FR"),
    ("115/3/14", "zh-Hant", "TW"),
    ("115.03.14", "zh-Hant", "TW"),
    ("民國115年3月14日", "zh-Hant", "TW"),
    ("民国115年3月14日", "zh-Hans", "CN"),
    ("115年3月14日", "zh-Hant", "TW"),
    ("2026年3月14日", "zh-Hant", "TW"),
    ("2026年3月14日", "zh-Hans", "CN"),
    ("2026 年 3 月 14 日", "ja", "JP"),
    ("２０２６年３月１４日", "ja", "JP"),
    ("令和8年3月14日", "ja", "JP"),
    ("Mar 14, 2026", "en", "US"),
    ("March 14th, 2026", "en", "US"),
    ("14 March 2026", "en", "GB"),
    ("14. März 2026", "de", "DE"),
    ("14 mars 2026", "fr", "FR"),
    ("14 de marzo de 2026", "es", "ES"),
    ("14 mar 2026", "es", "MX"),
]


@pytest.mark.parametrize(("typed", "language", "country"), FORMS)
def test_every_form_is_read(typed: str, language: str, country: str) -> None:
    assert read_date(typed, language, country) == MARCH_14


@pytest.mark.parametrize(
    ("typed", "country", "expected"),
    [
        ("03/04/2026", "US", date(2026, 3, 4)),
        ("03/04/2026", "DE", date(2026, 4, 3)),
        ("03/04/2026", "TW", date(2026, 4, 3)),
    ],
)
def test_day_and_month_order_by_country(typed: str, country: str, expected: date) -> None:
    assert read_date(typed, "en", country) == expected


@pytest.mark.parametrize(
    ("typed", "country"),
    [
        ("31/02/2026", "DE"),
        ("02/31/2026", "US"),
        ("31/02/2026", "US"),
        ("29.02.2027", "DE"),
        ("2026-04-31", "SG"),
        ("115/2/30", "TW"),
        ("2026年2月30日", "CN"),
    ],
)
def test_a_day_the_month_does_not_have(typed: str, country: str) -> None:
    assert read_date(typed, "en", country) is DateError.NO_SUCH_DAY


@pytest.mark.parametrize(
    "typed", ["next tuesday", "13/13/2026", "2026-13-01", "32/01/2026", "3 Marchember 2026", "", "1/2"]
)
def test_not_a_date(typed: str) -> None:
    assert read_date(typed, "en", "GB") is DateError.UNREADABLE


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("country", ["US", "DE", "TW", "JP", "SG", None])
def test_the_examples_shown_are_read_back(language: str, country: str | None) -> None:
    """The date error's example and the question's examples are forms the reader accepts."""
    assert read_date(calendars.medium(MARCH_14, language), language, country) == MARCH_14
    shown = re.findall(r"\d[\d/.-]{5,}\d", calendars.examples(MARCH_14, language, country))
    assert len(shown) == 2
    for example in shown:
        assert read_date(example, language, country) == MARCH_14, example


def test_examples_in_the_customers_order() -> None:
    assert calendars.examples(MARCH_14, "en", "US") == "03/14/2026 or 2026-03-14"
    assert calendars.examples(MARCH_14, "en", "GB") == "14/03/2026 or 2026-03-14"
    assert calendars.examples(MARCH_14, "zh-Hant", "TW").startswith("115/3/14")


def test_the_week_starts_as_in_the_country() -> None:
    assert calendars.first_weekday("US") == 6 and calendars.first_weekday("DE") == 0
    assert calendars.weekday_names("en", 6)[0] == "Su"
    assert calendars.weekday_names("zh-Hant", 0) == ["一", "二", "三", "四", "五", "六", "日"]


async def test_a_us_customer_types_month_first_and_meets_a_day_that_does_not_exist(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice", country="US")
    await _to_region(alice)
    await alice.press("Singapore")
    await alice.expect("Choose the store")
    await alice.press("Courts")
    asked = await alice.expect("When did you buy it")
    assert "day first" not in asked.text and "03/10/2026" in asked.text  # the customer's today, month first
    await alice.send("02/31/2026")
    await alice.expect("There is no such day as 02/31/2026")
    await alice.send("someday")
    refused = await alice.expect("couldn't read that date")
    example = refused.text.split("type it like ")[1].split(", as")[0]
    await alice.send(example)  # the example itself is accepted
    await alice.expect("where did you purchase")
    async with unit_of_work(bot.sessions) as s:
        state = (await s.scalars(select(ConversationState).where(ConversationState.user_id == 1001))).one()
        assert state.data["purchase_date"] == "2026-03-10"


async def test_a_taiwan_customer_types_the_roc_year(bot: BotHarness) -> None:
    mei = await customer(bot, 1002, "美玲", "zh-hant", country="TW", language="zh-Hant")
    await mei.send("/register")
    await mei.expect("哪一類產品")
    await mei.press("螢幕")
    await mei.expect("產品序號")
    await mei.send(SERIAL)
    await mei.expect("這是您的產品嗎")
    await mei.press("✅ 是，這是我的")
    await mei.expect("CHK")
    await mei.send(CHK)
    await mei.expect("購買地區")
    await mei.press("新加坡")
    await mei.expect("購買商店")
    await mei.press("Courts")
    asked = await mei.expect("購買日期")
    assert "115/3/10" in asked.text and "日在前" not in asked.text
    await mei.send("民國115年3月3日")
    await mei.expect("您在哪裡購買這項產品")
    async with unit_of_work(bot.sessions) as s:
        state = (await s.scalars(select(ConversationState).where(ConversationState.user_id == 1002))).one()
        assert state.data["purchase_date"] == "2026-03-03"


async def test_the_calendar_has_weekdays_and_no_day_that_has_not_begun(bot: BotHarness) -> None:
    """At 20:00 UTC on 14 March it is already the 15th in Singapore, still the 14th in New York."""
    bot.clock.current = datetime(2026, 3, 14, 20, 0, tzinfo=UTC)
    alice = await customer(bot, 1001, "Alice", country="US")
    await _to_region(alice)
    await alice.press("Singapore")
    await alice.expect("Choose the store")
    await alice.press("Courts")
    await alice.expect("When did you buy it")
    await alice.press("📅 Pick a date")
    month = await alice.expect("Choose the day of purchase", "March 2026")
    labels = month.buttons
    assert labels[labels.index("◀") + 1 : labels.index("◀") + 8] == ["Su", "Mo", "Tu", "We", "Th", "Fr", "Sa"]
    assert "14" in labels and "15" not in labels
    await alice.press("Su")
    assert "Tap a day number" in await alice.next_toast()
    await alice.press("14")
    await alice.expect("where did you purchase")
