"""/promotions: the running promotions with their facts and buttons, as the guide's Promotion Redeem page."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from storage import promotions
from storage.db import unit_of_work
from storage.models import ConversationState, Promotion
from storage.texts import in_language, promotion_name
from tests.conftest import BotHarness
from tests.harness import Reply
from tests.test_products import G27C4, MP241, Owned, lines, member_with_products, picture
from tests.test_status import promotion_id, submit

LANDING = "https://example.com/promotion/productivity-from-spring"
GUIDE = "https://example.com/promotion/productivity-from-spring/redeem-guide"


def url_buttons(reply: Reply) -> dict[str, str]:
    markup = reply.message.get("reply_markup") or {}
    return {b["text"]: b["url"] for row in markup.get("inline_keyboard", []) for b in row if "url" in b}


async def test_running_promotion_with_its_facts_and_buttons(bot: BotHarness) -> None:
    await member_with_products(
        bot,
        4001,
        Owned(MP241, "BA9H040230046", date(2026, 2, 15), invoice=picture()),
        Owned(G27C4, "BA7G360161055", date(2026, 2, 20), invoice=picture()),
    )
    alice = bot.person(4001, "Alice")
    await alice.send("/promotions")
    card = await alice.next_reply()
    shown = lines(card.text)
    assert "🎁 Running promotions (1)" in shown[0]
    assert "🎁 Productivity From Spring!" in shown
    assert "📅 Promotion period: Feb 1, 2026 – Dec 31, 2026" in shown
    assert "🧾 Invoice dates that count: Feb 1, 2026 – Dec 31, 2026" in shown
    assert "🔢 Redeem limit: 3 per e-mail — 0 used so far with user4001@example.com" in shown
    assert (
        "🏆 Prize: A 12-month productivity software licence, delivered as an activation code (AAAAA-BBBBB-CCCCC)."
        in shown
    )
    assert (
        "🍀 Lucky draw: An electric height-adjustable desk to level up your efficiency and effectiveness!"
        " Drawn on Jan 15, 2027; you choose to join when you redeem." in shown
    )
    assert "⏱ Our staff check every claim within 7–14 working days." in shown
    assert "🔑 Once approved, your activation code comes to you here in the chat." in shown
    assert "✅ You can redeem it now for: PRO MP241 (BA9H040230046)" in shown  # not the Optix G27C4
    assert card.buttons == [
        "📦 Eligible products",
        "🌍 Eligible countries",
        "🔗 Landing page",
        "📖 Redeem guide",
        "🎁 Redeem",
    ]
    assert url_buttons(card) == {"🔗 Landing page": LANDING, "📖 Redeem guide": GUIDE}

    await alice.press("📦 Eligible products", on=card)
    listing = await alice.next_reply()
    assert listing.kind == "message"
    assert "Eligible products — Productivity From Spring!" in listing.text
    assert lines(listing.text)[1:] == [
        "• PRO MP241 (9S6-3PA2CT-038) — Monitor",
        "• PRO MP242 (9S6-3PB1CH-005) — Monitor",
        "• PRO MP243X (9S6-3PB4CH-031) — Monitor",
    ]

    await alice.press("🌍 Eligible countries", on=card)
    countries = await alice.next_reply()
    shown = lines(countries.text)
    assert "Eligible countries — Productivity From Spring!" in shown[0]
    assert shown[1:7] == ["• France", "• Germany", "• Singapore", "• Taiwan", "• United Kingdom", "• United States"]
    assert "✅ You live in Singapore: you can take part." in shown


async def test_used_limit_is_counted_per_email(bot: BotHarness) -> None:
    member_id, (product_id,) = await member_with_products(
        bot, 4002, Owned(MP241, "BA9H616425247", date(2026, 3, 1), invoice=picture())
    )
    await submit(bot, member_id, [product_id], await promotion_id(bot))
    bob = bot.person(4002, "Bob")
    await bob.send("🎁 Promotions")  # the menu button does the same as /promotions
    card = await bob.next_reply()
    assert "🔢 Redeem limit: 3 per e-mail — 1 used so far with user4002@example.com" in lines(card.text)
    assert "None of your registered products can be redeemed for it right now" in card.text  # already in a claim


async def test_redeem_button_starts_redeeming(bot: BotHarness) -> None:
    await member_with_products(bot, 4003, Owned(MP241, "BA9H647258771", date(2026, 3, 1), invoice=picture()))
    carol = bot.person(4003, "Carol")
    await carol.send("/promotions")
    card = await carol.next_reply()
    await carol.press("🎁 Redeem", on=card)
    reply = await carol.next_reply()
    assert "To redeem this promotion, send /redeem" not in reply.text  # the redeem module took over


async def test_no_running_promotion(bot: BotHarness) -> None:
    await member_with_products(bot, 4004)
    bot.clock.current = datetime(2027, 1, 5, tzinfo=UTC)  # the demo promotion ended on 2026-12-31
    dave = bot.person(4004, "Dave")
    await dave.send("/promotions")
    reply = await dave.next_reply()
    assert "There is no promotion running right now" in reply.text
    assert bot.emulator.reply_keyboard(4004), "the main menu is shown"


async def test_not_open_in_the_members_country(bot: BotHarness) -> None:
    await member_with_products(bot, 4005, country="MY")
    erin = bot.person(4005, "Erin")
    await erin.send("/promotions")
    reply = await erin.next_reply()
    assert "A promotion is running, but it is not open to people living in Malaysia" in reply.text


async def test_traditional_chinese(bot: BotHarness) -> None:
    await member_with_products(
        bot, 4006, Owned(MP241, "BA9H841330175", date(2026, 2, 15), invoice=picture()), language="zh-Hant"
    )
    bao = bot.person(4006, "Bao", "zh-TW")
    await bao.send("/promotions")
    card = await bao.next_reply()
    assert "進行中的促銷活動（1）" in card.text
    shown = lines(card.text)
    assert "🎁 春季生產力大放送！" in shown
    assert "📅 活動期間：2026年2月1日 – 2026年12月31日" in shown
    assert "🔢 兌換上限：每個電子郵件 3 次 — user4006@example.com 已使用 0 次" in shown
    assert "🏆 獎品：12 個月生產力軟體授權，以兌換碼（AAAAA-BBBBB-CCCCC）提供。" in shown
    assert card.buttons == ["📦 適用產品", "🌍 適用國家", "🔗 活動網頁", "📖 兌換說明", "🎁 兌換"]
    await bao.press("🌍 適用國家", on=card)
    countries = await bao.next_reply()
    assert "• 新加坡" in lines(countries.text) and "✅ 您居住在新加坡：可以參加。" in countries.text


async def test_without_profile_the_profile_comes_first(bot: BotHarness) -> None:
    newcomer = bot.person(4007, "Nina")
    await newcomer.send("/promotions")
    await newcomer.next_reply()
    async with unit_of_work(bot.sessions) as session:
        state = await session.get(ConversationState, 4007)
        assert state is not None and state.flow == "profile"


async def test_eligible_product_names_from_the_catalogue(bot: BotHarness) -> None:
    async with unit_of_work(bot.sessions) as session:
        promotion = await session.scalar(select(Promotion).where(Promotion.slug == "spring-2026"))
        assert promotion is not None
        promotion.eligible_models = [*promotion.eligible_models, " 9s6-3ca91t-003 ", "NOT-IN-CATALOGUE"]
        names = await promotions.eligible_product_names(session, promotion)
    assert names == ["Optix G27C4", "PRO MP241", "PRO MP242", "PRO MP243X", "NOT-IN-CATALOGUE"]


def test_text_in_the_language_else_english() -> None:
    texts = {"en": "Spring", "zh-Hant": "春季", "de": ""}
    assert in_language(texts, "zh-Hant") == "春季"
    assert in_language(texts, "zh-hant") == "春季"  # tags compared ignoring case when not exact
    assert in_language(texts, "fr") == in_language(texts, "de") == in_language(texts, None) == "Spring"
    assert in_language({"zh-Hant": "春季"}, "fr") == "" and in_language(None, "en", default="-") == "-"
    assert in_language({"de": "Frühling"}, "fr", fallback="de") == "Frühling"
    promotion = Promotion(slug="spring-2026", names={"zh-Hant": "春季"})
    assert promotion_name(promotion, "zh-Hant") == "春季" and promotion_name(promotion, "en") == "spring-2026"
