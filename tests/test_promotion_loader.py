"""Promotions from TOML: the demo file, idempotent reloads, and errors that say where and what."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalogue import load_catalogue_file
from storage.db import SessionFactory, create_engine, make_session_factory, unit_of_work
from storage.demo import DEMO_DIR, load_demo_data
from storage.file_errors import FileLoadError, FileProblem
from storage.migrate import upgrade
from storage.models import Promotion
from storage.promotion_loader import DEFAULT_CODE_PATTERN, PromotionFileError, load_promotions_file

DEMO = DEMO_DIR / "promotion.toml"


async def _template(url: str) -> None:
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with unit_of_work(make_session_factory(engine)) as session:
            await load_catalogue_file(session, DEMO_DIR / "catalogue.toml")
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated, with the demo catalogue (eligible models must exist), once per module."""
    path = tmp_path_factory.mktemp("promotions") / "template.db"
    asyncio.run(_template("sqlite+aiosqlite:///" + str(path)))
    return path


@pytest.fixture
async def sessions(migrated: Path, tmp_path: Path) -> AsyncIterator[SessionFactory]:
    """A fresh copy of the template database for each test."""
    shutil.copyfile(migrated, tmp_path / "t.db")
    engine = create_engine("sqlite+aiosqlite:///" + str(tmp_path / "t.db"))
    yield make_session_factory(engine)
    await engine.dispose()


async def promotions(session: AsyncSession) -> list[Promotion]:
    return list(await session.scalars(select(Promotion).order_by(Promotion.id)))


VALID = """[[promotions]]
slug = "cashback-2026"
name = { en = "Cashback Summer", zh-Hant = "夏日現金回饋" }
period = { start = 2026-06-01, end = 2026-08-31 }
invoice_dates = { start = 2026-05-15, end = 2026-08-31 }
redeem_limit_per_email = 2
eligible_models = ["V513-224R"]
eligible_countries = ["us", "GB"]
prize = { kind = "cashback", amount = 50, currency = "usd", description = { en = "USD 50 back" } }
landing_url = "https://example.com/cashback"
guide_url = "https://example.com/cashback/guide"
lucky_draw = { enabled = false }
processing_days = { min = 20, max = 30 }
timezone = "America/New_York"
"""


def write(tmp_path: Path, text: str, name: str = "promotions.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def test_demo_promotion_loads(sessions: SessionFactory) -> None:
    async with unit_of_work(sessions) as session:
        assert await load_promotions_file(session, DEMO) == ["spring-2026"]
        [promo] = await promotions(session)
    assert promo.names["en"] == "Productivity From Spring!" and promo.names["zh-Hant"]
    assert (promo.starts_on, promo.ends_on) == (date(2026, 2, 1), date(2026, 12, 31))
    assert (promo.invoice_from, promo.invoice_to) == (date(2026, 2, 1), date(2026, 12, 31))
    assert promo.redeem_limit_per_email == 3
    assert {"9S6-3PA2CT-038", "9S6-3PB1CH-005"} <= set(promo.eligible_models) and len(promo.eligible_models) == 3
    assert promo.eligible_countries == ["SG", "TW", "US", "DE", "FR", "GB"]
    assert (promo.prize_kind, promo.cashback_amount, promo.currency) == ("digital_code", None, None)
    assert promo.lucky_draw and "desk" in promo.draw_prize["en"] and promo.draw_date == date(2027, 1, 15)
    assert (promo.processing_days_min, promo.processing_days_max) == (7, 14)
    assert promo.landing_url and promo.landing_url.startswith("https://example.com/")
    assert promo.guide_url and promo.guide_url.startswith("https://example.com/")
    assert promo.code_pattern == DEFAULT_CODE_PATTERN
    assert promo.timezone == "Asia/Singapore"


async def test_load_demo_data_twice_is_idempotent(sessions: SessionFactory) -> None:
    for _ in range(2):
        async with unit_of_work(sessions) as session:
            await load_demo_data(session)
    async with unit_of_work(sessions) as session:
        assert await session.scalar(select(func.count()).select_from(Promotion)) == 1


async def test_reload_updates_changed_fields_by_slug(sessions: SessionFactory, tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    async with unit_of_work(sessions) as session:
        await load_promotions_file(session, path)
    path.write_text(
        VALID.replace("amount = 50", "amount = 75.5").replace(
            "redeem_limit_per_email = 2", "redeem_limit_per_email = 1"
        )
    )
    async with unit_of_work(sessions) as session:
        assert await load_promotions_file(session, path) == ["cashback-2026"]
        [promo] = await promotions(session)
    assert promo.cashback_amount == Decimal("75.50") and promo.currency == "USD"
    assert promo.redeem_limit_per_email == 1
    assert promo.eligible_countries == ["US", "GB"]
    assert promo.invoice_from == date(2026, 5, 15) and not promo.lucky_draw
    assert (promo.processing_days_min, promo.processing_days_max, promo.timezone) == (20, 30, "America/New_York")


async def test_many_promotions_and_defaults(sessions: SessionFactory, tmp_path: Path) -> None:
    minimal = """
[[promotions]]
slug = "chair-gift"
name = { en = "Free cushion" }
period = { start = 2026-03-01, end = 2026-03-31 }
eligible_models = ["9S6-B0Y10D-006"]
eligible_countries = ["TW"]
prize = { kind = "physical" }
"""
    path = write(tmp_path, VALID + minimal)
    async with unit_of_work(sessions) as session:
        assert await load_promotions_file(session, path) == ["cashback-2026", "chair-gift"]
        chair = (await promotions(session))[1]
    assert (chair.invoice_from, chair.invoice_to) == (date(2026, 3, 1), date(2026, 3, 31))
    assert chair.redeem_limit_per_email == 1 and chair.timezone == "UTC" and chair.code_pattern == DEFAULT_CODE_PATTERN
    assert (chair.processing_days_min, chair.processing_days_max) == (
        7,
        14,
    )  # the review; delivery counts from approval
    assert chair.draw_prize_ships
    assert not chair.lucky_draw and chair.landing_url is None


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ('slug = "cashback-2026"\n', "", "slug", "is missing"),
        ('eligible_models = ["V513-224R"]\n', "", "eligible_models", "is missing"),
        (
            "end = 2026-08-31 }\ninvoice",
            "end = 2026-05-31 }\ninvoice",
            "period",
            "end 2026-05-31 is before start 2026-06-01",
        ),
        ("{ start = 2026-05-15", "{ start = 2026-09-15", "invoice_dates", "is before start 2026-09-15"),
        ("amount = 50, ", "", "prize.amount", "is missing (a cashback prize needs an amount and a currency)"),
        ('currency = "usd", ', "", "prize.currency", "is missing (a cashback prize"),
        ("amount = 50", "amount = -5", "prize.amount", "positive amount"),
        ('kind = "cashback"', 'kind = "voucher"', "prize.kind", "unknown prize kind 'voucher'"),
        ('kind = "cashback"', 'kind = "digital_code"', "prize", "only a cashback prize has an amount"),
        ('"us", "GB"', '"us", "UK"', "eligible_countries", "'UK' (did you mean 'GB'?)"),
        ('"us", "GB"', '"USA"', "eligible_countries", "not an ISO 3166-1 alpha-2 country code: 'USA'"),
        ('"https://example.com/cashback"', '"example.com/cashback"', "landing_url", "must be an http(s) URL"),
        ('"https://example.com/cashback/guide"', '"ftp://example.com/g"', "guide_url", "must be an http(s) URL"),
        (
            'timezone = "America/New_York"',
            "timezone = \"America/New_York\"\ncode_pattern = '[A-Z'",
            "code_pattern",
            "not a valid regular expression",
        ),
        ('"America/New_York"', '"Mars/Olympus_Mons"', "timezone", "unknown time zone 'Mars/Olympus_Mons'"),
        ('"V513-224R"', '"V513-999X"', "eligible_models", "unknown model 'V513-999X' (load the catalogue first)"),
        ("{ enabled = false }", "{ enabled = true }", "lucky_draw.prize", "is missing"),
        ("{ enabled = false }", '{ enabled = "yes" }', "lucky_draw.enabled", "must be true or false"),
        ("{ min = 20, max = 30 }", "{ min = 30, max = 20 }", "processing_days", "min 30 is greater than max 20"),
        ('{ en = "Cashback Summer", zh-Hant', "{ zh-Hant", "name", "needs an 'en' text"),
        (
            'slug = "cashback-2026"',
            'slug = "cashback-2026"\neligble_countries = ["SG"]',
            "eligble_countries",
            "unknown field",
        ),
        ("redeem_limit_per_email = 2", "redeem_limit_per_email = 0", "redeem_limit_per_email", "positive whole number"),
    ],
)
async def test_errors_name_file_promotion_field_and_problem(
    sessions: SessionFactory, tmp_path: Path, old: str, new: str, field: str, problem: str
) -> None:
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    async with unit_of_work(sessions) as session:
        with pytest.raises(PromotionFileError) as error:
            await load_promotions_file(session, path)
        assert await promotions(session) == []  # nothing written
    message = str(error.value)
    promotion = "promotions[1]" if field == "slug" else "promotions[1] (cashback-2026)"
    assert message.startswith(str(path)), message
    assert f"{promotion}: {field}: " in message and problem in message, message


async def test_second_promotion_is_named_by_index_and_slug(sessions: SessionFactory, tmp_path: Path) -> None:
    second = VALID.replace("cashback-2026", "cashback-2027").replace('kind = "cashback"', 'kind = "gift"')
    path = write(tmp_path, VALID + "\n" + second + "\n" + VALID)
    async with unit_of_work(sessions) as session:
        with pytest.raises(PromotionFileError) as error:
            await load_promotions_file(session, path)
    assert "promotions[2] (cashback-2027): prize.kind: unknown prize kind 'gift'" in str(error.value)
    assert "promotions[3] (cashback-2026): slug: 'cashback-2026' is already used by promotions[1]" in str(error.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[promotions]]\nslug = "a"\nslug = "b"\n', "TOML syntax error: Cannot overwrite a value (at line 3"),
        ("title = 'x'\n", "no [[promotions]] tables"),
    ],
)
async def test_file_level_errors(sessions: SessionFactory, tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    async with unit_of_work(sessions) as session:
        with pytest.raises(PromotionFileError) as error:
            await load_promotions_file(session, path)
    assert str(error.value).startswith(str(path)) and problem in str(error.value)


async def test_missing_file(sessions: SessionFactory, tmp_path: Path) -> None:
    async with unit_of_work(sessions) as session:
        with pytest.raises(PromotionFileError, match="file not found"):
            await load_promotions_file(session, tmp_path / "nope.toml")


async def test_two_bad_promotions_are_both_reported_and_nothing_written(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    path = write(tmp_path, VALID)
    async with unit_of_work(sessions) as session:
        await load_promotions_file(session, path)
    first = VALID.replace("redeem_limit_per_email = 2", "redeem_limit_per_email = 5").replace("amount = 50, ", "")
    second = VALID.replace("cashback-2026", "cashback-2027").replace('kind = "cashback"', 'kind = "gift"')
    third = VALID.replace("cashback-2026", "cashback-2028")  # valid, and still not loaded
    path.write_text(first + second + third, encoding="utf-8")
    async with unit_of_work(sessions) as session:
        with pytest.raises(FileLoadError) as error:
            await load_promotions_file(session, path)
        assert not session.new and not session.dirty
    assert error.value.details == [
        FileProblem(
            "is missing (a cashback prize needs an amount and a currency)",
            where="promotions[1] (cashback-2026)",
            field="prize.amount",
        ),
        FileProblem(
            "unknown prize kind 'gift' (expected one of digital_code, cashback, physical)",
            where="promotions[2] (cashback-2027)",
            field="prize.kind",
        ),
    ]
    first_line = "promotions[1] (cashback-2026): prize.amount: is missing"
    assert str(error.value).startswith(f"{path}: 2 problems:\n  {first_line}")
    async with unit_of_work(sessions) as session:
        [promo] = await promotions(session)
    assert promo.redeem_limit_per_email == 2 and promo.cashback_amount == Decimal("50.00")


async def test_checks_between_fields_report_each_field(sessions: SessionFactory, tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('amount = 50, currency = "usd", ', ""))
    async with unit_of_work(sessions) as session:
        with pytest.raises(FileLoadError) as error:
            await load_promotions_file(session, path)
    assert [p.field for p in error.value.details] == ["prize.amount", "prize.currency"]
