"""Promotion rules seen in the field: cooling-off, household cap, deadline, residence, stock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import claims, codes, redeem_options
from storage.db import unit_of_work
from storage.models import Member, Promotion
from storage.promotion_loader import PromotionFileError, load_promotions_file
from tests.conftest import BotHarness
from tests.factories import add_product, customer, make_member, set_promotion

ELIGIBLE = "BA9H040230046"


async def _promotion(bot: BotHarness) -> Promotion:
    async with unit_of_work(bot.sessions) as s:
        promotion = await s.scalar(select(Promotion).where(Promotion.slug == "spring-2026"))
        assert promotion is not None
        return promotion


async def _submit(
    bot: BotHarness, member_id: int, product_id: int, key: str, address: dict[str, str] | None = None
) -> str:
    promotion = await _promotion(bot)
    async with unit_of_work(bot.sessions) as s:
        member = await s.get(Member, member_id)
        assert member is not None
        draft = claims.ClaimDraft(promotion.id, [claims.ItemDraft(product_id, "a/b.jpg", "0" * 64)], True, address, key)
        try:
            await claims.submit(s, member, draft, bot.clock.now())
        except claims.ClaimRefused as refused:
            return refused.refusal.value
    return "ok"


async def test_cooling_off_window_through_the_chat(bot: BotHarness) -> None:
    await set_promotion(bot, cooling_off_days=14)
    alice = await customer(bot, 1001, "Alice")
    members = await _members(bot)
    await add_product(bot, members[1001], ELIGIBLE, purchase="2026-03-03")  # the clock says 2026-03-10
    await alice.send("/redeem")
    await alice.expect("None of your products")
    await alice.expect("14 days after purchase", "from Mar 17, 2026")
    await alice.expect("/register")
    bot.clock.advance(timedelta(days=7))
    await alice.send("/redeem")
    await alice.expect("Tick the products")


async def test_household_cap_counts_one_address_across_accounts(bot: BotHarness) -> None:
    await set_promotion(bot, prize_kind="physical", household_limit=1, lucky_draw=False)
    first = await make_member(bot.sessions, 2001)
    second = await make_member(bot.sessions, 2002)
    products = [await add_product(bot, first, ELIGIBLE), await add_product(bot, second, "BA9H616425247")]
    home = {
        "name": "A",
        "street": "1 Orchard Road",
        "city": "Singapore",
        "postcode": "238824",
        "country": "Singapore",
        "phone": "+6591234567",
    }
    same_home = home | {"name": "B", "street": "1  orchard road,"}
    assert await _submit(bot, first, products[0], "k1", home) == "ok"
    assert await _submit(bot, second, products[1], "k2", same_home) == "household_limit"


async def test_closed_when_the_codes_run_out(bot: BotHarness) -> None:
    await set_promotion(bot, while_stock_lasts=True)
    promotion = await _promotion(bot)
    async with unit_of_work(bot.sessions) as s:
        report = await codes.import_codes(s, promotion, "AAAAA-BBBBB-CCCCC\n", bot.clock.now())
        assert report.added == 1
    first = await make_member(bot.sessions, 2001, email="one@example.com")
    second = await make_member(bot.sessions, 2002, email="two@example.com")
    products = [await add_product(bot, first, ELIGIBLE), await add_product(bot, second, "BA9H616425247")]
    assert await _submit(bot, first, products[0], "k1") == "ok"
    assert await _submit(bot, second, products[1], "k2") == "out_of_stock"
    async with unit_of_work(bot.sessions) as s:
        member = await s.get(Member, second)
        assert member is not None
        [option] = await redeem_options.redeem_options(s, member, bot.clock.now())
        assert option.eligible == [] and option.others[0][1] == ["out_of_stock"]


async def test_physical_stock(bot: BotHarness) -> None:
    await set_promotion(bot, prize_kind="physical", while_stock_lasts=True, prize_stock=1, lucky_draw=False)
    first = await make_member(bot.sessions, 2001, email="one@example.com")
    second = await make_member(bot.sessions, 2002, email="two@example.com")
    products = [await add_product(bot, first, ELIGIBLE), await add_product(bot, second, "BA9H616425247")]
    address = {"name": "A", "street": "S", "city": "C", "postcode": "1", "country": "X", "phone": "+6591234567"}
    assert await _submit(bot, first, products[0], "k1", address) == "ok"
    assert await _submit(bot, second, products[1], "k2", address | {"street": "Other"}) == "out_of_stock"


async def _members(bot: BotHarness) -> dict[int, int]:
    async with unit_of_work(bot.sessions) as s:
        return {m.telegram_user_id: m.id for m in (await s.scalars(select(Member))).all()}


def _write(tmp_path: Path, rules: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(
        f"""
[[promotions]]
slug = "rules"
name = {{ en = "Rules" }}
period = {{ start = 2026-02-01, end = 2026-05-31 }}
eligible_models = ["9S6-3PA2CT-038"]
eligible_countries = ["SG"]
prize = {{ kind = "physical" }}
rules = {rules}
"""
    )
    return path


async def test_loader_reads_the_rules(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from storage.catalogue import load_catalogue_file
    from storage.demo import DEMO_CATALOGUE

    await load_catalogue_file(session, DEMO_CATALOGUE)
    await load_promotions_file(
        session,
        _write(
            tmp_path,
            "{ cooling_off_days = 14, household_limit = 1, redeem_deadline = 2026-06-30, residence_only = true,"
            " while_stock_lasts = true, stock = 50 }",
        ),
    )
    promotion = await session.scalar(select(Promotion).where(Promotion.slug == "rules"))
    assert (
        promotion.cooling_off_days,
        promotion.household_limit,
        str(promotion.redeem_deadline),
        promotion.residence_only,
        promotion.prize_stock,
    ) == (14, 1, "2026-06-30", True, 50)


async def test_loader_refuses_a_deadline_before_the_period_ends(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PromotionFileError) as caught:
        await load_promotions_file(
            session, _write(tmp_path, "{ redeem_deadline = 2026-05-01, while_stock_lasts = true }")
        )
    message = str(caught.value)
    assert "rules.redeem_deadline" in message and "rules.stock" in message


async def test_promotion_card_states_its_rules(bot: BotHarness) -> None:
    from datetime import date

    await set_promotion(bot, while_stock_lasts=True, cooling_off_days=14, redeem_deadline=date(2027, 1, 31))
    alice = await customer(bot, 1001, "Alice")
    await alice.send("/promotions")
    await alice.expect("Running promotions", "While stocks last", "14 days after purchase", "Jan 31, 2027")
