"""For the staff-tools tests: claims made directly in the database, and a bot with fast pacing."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.runtime import BotRuntime
from emulator import Emulator
from storage.clock import FakeClock
from storage.db import unit_of_work
from storage.demo import load_demo_data
from storage.models import CatalogueProduct, Claim, ClaimItem, ClaimStatus, Member, Promotion, RegisteredProduct
from tests.conftest import BotHarness, make_settings
from tests.factories import new_member

MP241 = "9S6-3PA2CT-038"  # in the demo promotion
G27C4 = "9S6-3CA91T-003"  # not in it
SUBMITTED = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
_serials = itertools.count(1)


async def promotion(session: AsyncSession, slug: str = "spring-2026") -> Promotion:
    found = await session.scalar(select(Promotion).where(Promotion.slug == slug))
    assert found is not None
    return found


async def member(
    session: AsyncSession, user_id: int, *, country: str = "SG", language: str = "en", username: str | None = None
) -> Member:
    found = await session.scalar(select(Member).where(Member.telegram_user_id == user_id))
    if found is not None:
        return found
    created = new_member(user_id, country=country, language=language, username=username, now=SUBMITTED)
    session.add(created)
    await session.flush()
    return created


async def claim(
    session: AsyncSession,
    user_id: int,
    order_id: str,
    *,
    status: ClaimStatus = ClaimStatus.APPROVED,
    lucky: bool | None = True,
    model: str = MP241,
    purchase: date = date(2026, 3, 3),
    country: str = "SG",
    language: str = "en",
    products: int = 1,
    slug: str = "spring-2026",
) -> Claim:
    """A claim of `user_id` (made a member if needed) for `products` new products of `model`."""
    owner = await member(session, user_id, country=country, language=language)
    catalogue_id = await session.scalar(select(CatalogueProduct.id).where(CatalogueProduct.model == model))
    assert catalogue_id is not None
    promo = await promotion(session, slug)
    items = []
    for _ in range(products):
        product = RegisteredProduct(
            member_id=owner.id,
            catalogue_product_id=catalogue_id,
            serial=f"TST{next(_serials):010d}",
            purchase_country=country,
            store_name="Courts",
            purchase_date=purchase,
            channel="retail",
            invoice_path="invoices/test.jpg",
            invoice_sha256="0" * 64,
            registered_at=SUBMITTED,
        )
        session.add(product)
        await session.flush()
        items.append(ClaimItem(registered_product_id=product.id, sn_photo_path="sn/test.jpg", sn_photo_sha256="1" * 64))
    decided = status in (ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.MISSING_INFO)
    made = Claim(
        order_id=order_id,
        member_id=owner.id,
        promotion_id=promo.id,
        email=owner.email or "",
        status=status,
        lucky_draw_opt_in=lucky,
        attempt=1,
        idempotency_key=f"test-{order_id}",
        submitted_at=SUBMITTED,
        decided_at=SUBMITTED if decided else None,
        decided_by=9001 if decided else None,
        items=items,
    )
    session.add(made)
    await session.flush()
    return made


async def start_bot(
    emulator: Emulator, db_url: str, tmp_path: Path, *, outbox_interval: float | None = None, **overrides: Any
) -> BotHarness:
    """Like the `bot` fixture, with the outbox paced for tests (50 ms per chat, 1000/s overall).

    No background outbox loop unless `outbox_interval` is given, so the test decides when
    messages go out: `await bot.runtime.tick()`.
    """
    values: dict[str, Any] = {
        "outbox_chat_interval_seconds": 0.05,
        "outbox_group_interval_seconds": 0.05,
        "outbox_rate_per_second": 1000.0,
    }
    if (
        "digest_hour_utc" in Settings.model_fields
    ):  # the staff's daily digest (due at 09:00 on the fake clock) would interleave with what these tests expect in the staff chat
        values["digest_hour_utc"] = 23
    settings = make_settings(emulator, db_url, tmp_path, **(values | overrides))
    clock = FakeClock()
    runtime = BotRuntime(settings, clock=clock, poll_timeout=1, outbox_interval=outbox_interval, timed_jobs=False)
    await runtime.start()
    harness = BotHarness(emulator, settings, clock, runtime)
    async with unit_of_work(harness.sessions) as session:
        await load_demo_data(session)
    return harness


def open_chat(emulator: Emulator, user_id: int, name: str, language_code: str = "en") -> None:
    """The user exists and has started the bot (so it may write to them), without sending an update."""
    emulator.add_user(user_id, name, language_code=language_code, username=name.lower())
    emulator.state.chat_for_user_action(user_id, None).started = True
