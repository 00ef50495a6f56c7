"""Nobody is left waiting: the half-time note to the customer and the staff's daily digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from emulator import Emulator
from locales.i18n import format_day
from storage import claims
from storage.db import unit_of_work
from storage.followups import halfway
from storage.models import Claim, OutboxMessage, Promotion
from storage.workdays import add_working_days, holidays_of, working_days_after
from tests.conftest import STAFF_CHAT_ID, STAFF_ID, BotHarness
from tests.factories import add_product, customer
from tests.harness import Person
from tests.staff_tools_support import start_bot
from tests.test_redeem import _member_id, _redeem_until_confirm

ELIGIBLE = "BA9H040230046"


async def _submitted(bot: BotHarness) -> tuple[Person, Claim, Promotion]:
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    await _redeem_until_confirm(alice)
    await alice.press("✅ Redeem")
    await alice.expect("Order ID")
    async with unit_of_work(bot.sessions) as s:
        claim = await s.scalar(select(Claim))
        assert claim is not None
        promotion = await s.get(Promotion, claim.promotion_id)
        assert promotion is not None
    return alice, claim, promotion


def _at(day: datetime | object, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)  # type: ignore[arg-type]


async def test_customer_hears_once_at_half_the_promised_time(bot: BotHarness) -> None:
    alice, claim, promotion = await _submitted(bot)
    half = halfway(claim, promotion)
    bot.clock.current = _at(half - timedelta(days=1), 12)
    await bot.runtime.tick()
    bot.clock.current = _at(half, 1)
    await bot.runtime.tick()
    note = await alice.expect(
        "being looked at", claim.order_id, format_day(claims.expected_decision(claim.submitted_at, promotion), "en")
    )
    assert note.kind == "message"
    await bot.runtime.tick()
    async with unit_of_work(bot.sessions) as s:
        assert (
            await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "followup")) == 1
        )


async def test_daily_digest_and_overdue_claims_posted_again(bot: BotHarness) -> None:
    _, claim, promotion = await _submitted(bot)
    sam = Person(bot.emulator, STAFF_ID, "Sam", chat_id=STAFF_CHAT_ID)
    promised = claims.expected_decision(claim.submitted_at, promotion)

    bot.clock.current = _at(claim.submitted_at.date() + timedelta(days=1), 7)  # before the digest hour
    await bot.runtime.tick()
    bot.clock.current = _at(claim.submitted_at.date() + timedelta(days=1), 9)
    await bot.runtime.tick()
    digest = await _next_digest(sam)
    assert "Waiting for a decision: 1" in digest and claim.order_id in digest

    bot.clock.current = _at(promised - timedelta(days=1), 9)  # the promise ends within 48 hours
    await bot.runtime.tick()
    digest = await _next_digest(sam)
    assert f"{claim.order_id} — {format_day(promised, 'en')}" in digest.split("Past the promised date")[0]

    bot.clock.current = _at(promised + timedelta(days=1), 9)
    await bot.runtime.tick()
    digest = await _next_digest(sam)
    assert f"{claim.order_id} — {format_day(promised, 'en')}" in digest.split("Past the promised date")[1]
    async with unit_of_work(bot.sessions) as s:
        cards = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "review_card")
        )
        assert cards == 2  # at submission, and again once overdue
        assert (await s.get(Claim, claim.id)).overdue_posted_at is not None  # type: ignore[union-attr]
    await bot.runtime.tick()  # the same day: no second digest
    async with unit_of_work(bot.sessions) as s:
        assert (
            await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "digest")) == 3
        )


async def _next_digest(sam: Person, title: str = "daily review digest") -> str:
    while True:
        reply = await sam.next_reply()
        if title in reply.text.lower():
            return reply.text


async def test_the_digest_writes_its_dates_in_the_staff_language(
    emulator: Emulator, db_url: str, tmp_path: Path
) -> None:
    """The digest is queued as a date per line and written in the reader's language when sent."""
    bot = await start_bot(emulator, db_url, tmp_path, default_language="zh-Hant", digest_hour_utc=9)
    try:
        _, claim, promotion = await _submitted(bot)
        promised = claims.expected_decision(claim.submitted_at, promotion)
        sam = Person(emulator, STAFF_ID, "Sam", chat_id=STAFF_CHAT_ID)
        bot.clock.current = _at(promised + timedelta(days=1), 9)
        await bot.runtime.tick()
        digest = await _next_digest(sam, "每日審核摘要")
        due_soon, overdue = digest.split("已超過承諾日期")
        assert f"{claim.order_id} — {format_day(promised, 'zh-Hant')}" in overdue and "年" in overdue
        assert (
            promised.isoformat() not in digest and "48 小時內到期：\n—" in due_soon
        )  # an empty list: the locale's "none"
        async with unit_of_work(bot.sessions) as s:
            queued = await s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
            assert queued is not None and queued.payload["values"]["overdue"]["$lines"]["items"] == [
                {"order_id": claim.order_id, "promised": {"$date": promised.isoformat()}}
            ]
    finally:
        await bot.runtime.stop()


def test_working_days_skip_weekends_and_public_holidays() -> None:
    from datetime import date

    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday
    sg = holidays_of("SG", 2026, 2026)
    assert date(2026, 8, 10) in sg  # National Day (observed)
    assert working_days_after(date(2026, 8, 7), 1, "SG") == date(2026, 8, 11)
    assert working_days_after(date(2026, 8, 7), 1, None) == date(2026, 8, 10)
