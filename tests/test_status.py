"""My redemptions (/status) and the decision messages, with claims put in each state by the services."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from storage import claims, codes, review
from storage.claims import ClaimDraft, ItemDraft
from storage.db import unit_of_work
from storage.models import Claim, ClaimItem, ClaimStatus, Member, OutboxMessage, OutboxStatus, PrizeKind, Promotion
from tests.conftest import STAFF_ID, BotHarness
from tests.harness import Reply
from tests.test_products import MP241, MP242, Owned, lines, member_with_products, picture

SERIAL = "BA9H040230046"
BOUGHT = date(2026, 2, 15)
CODE = "X7V27-5JGLN-K8P8G"
LANDING = "https://example.com/promotion/productivity-from-spring"
REASON = "Please provide the invoice with your product name on it, thanks."


# ---- helpers ---------------------------------------------------------------------------------
async def promotion_id(bot: BotHarness, slug: str = "spring-2026") -> int:
    async with unit_of_work(bot.sessions) as session:
        found = await session.scalar(select(Promotion.id).where(Promotion.slug == slug))
        assert found is not None
        return found


async def make_promotion(bot: BotHarness, slug: str, kind: PrizeKind, **fields: object) -> int:
    """A running promotion for the PRO MP242 in Singapore, made with the ORM."""
    values: dict[str, object] = {
        "slug": slug,
        "names": {"en": f"{slug.title()} Deal", "zh-Hant": f"{slug} 優惠"},
        "starts_on": date(2026, 2, 1),
        "ends_on": date(2026, 12, 31),
        "invoice_from": date(2026, 1, 1),
        "invoice_to": date(2026, 12, 31),
        "redeem_limit_per_email": 2,
        "eligible_models": [MP242],
        "eligible_countries": ["SG"],
        "prize_kind": kind,
        "landing_url": f"https://example.com/{slug}",
        "processing_days_min": 7,
        "processing_days_max": 14,
    }
    values.update(fields)
    async with unit_of_work(bot.sessions) as session:
        promotion = Promotion(**values)
        session.add(promotion)
        await session.flush()
        return promotion.id


async def submit(
    bot: BotHarness,
    member_id: int,
    product_ids: list[int],
    promotion: int,
    *,
    lucky: bool | None = True,
    address: dict[str, str] | None = None,
) -> str:
    """A claim submitted through the service layer, as the redeem journey would."""
    async with unit_of_work(bot.sessions) as session:
        member = await session.get(Member, member_id)
        assert member is not None
        draft = ClaimDraft(
            promotion_id=promotion,
            items=[ItemDraft(pid, f"sn/{pid}.jpg", secrets.token_hex(32)) for pid in product_ids],
            lucky_draw_opt_in=lucky,
            shipping_address=address,
            idempotency_key=secrets.token_hex(16),
        )
        submitted = await claims.submit(session, member, draft, bot.clock.now())
        return submitted.claim.order_id


async def claimant(bot: BotHarness, user_id: int, *, language: str = "en") -> tuple[int, str]:
    """A member with a PRO MP241 and a claim for the demo promotion in review; (member id, order id)."""
    member_id, (product_id,) = await member_with_products(
        bot, user_id, Owned(MP241, SERIAL, BOUGHT, invoice=picture()), language=language
    )
    return member_id, await submit(bot, member_id, [product_id], await promotion_id(bot))


async def claim_row(bot: BotHarness, order_id: str) -> Claim:
    async with unit_of_work(bot.sessions) as session:
        row = await session.scalar(select(Claim).where(Claim.order_id == order_id))
        assert row is not None
        return row


async def decision_messages(bot: BotHarness, chat_id: int) -> list[OutboxMessage]:
    async with unit_of_work(bot.sessions) as session:
        return list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
            )
        )


def entity_texts(reply: Reply, kind: str) -> list[str]:
    """The pieces of the text formatted as `kind` (e.g. "code": copyable monospace)."""
    data = reply.text.encode("utf-16-le")
    return [
        data[e["offset"] * 2 : (e["offset"] + e["length"]) * 2].decode("utf-16-le")
        for e in reply.message.get("entities", [])
        if e["type"] == kind
    ]


# ---- the journeys ----------------------------------------------------------------------------
async def test_under_review_then_missing_information_with_redeem_again(bot: BotHarness) -> None:
    _, order_id = await claimant(bot, 5001)
    alice = bot.person(5001, "Alice")

    await alice.send("/status")
    reply = await alice.next_reply()
    shown = lines(reply.text)
    assert "📋 Your redemptions (1)" in shown
    assert "1. Productivity From Spring!" in shown
    assert "📅 Redeem date: Mar 10, 2026" in shown
    assert f"🔖 Order ID: {order_id}" in shown and order_id in entity_texts(reply, "code")
    assert f"📦 PRO MP241 / {SERIAL}" in shown
    assert "Status: ⏳ Under review — our staff check it; answer expected by Mar 30, 2026" in shown  # 14 working days
    assert "🍀 Lucky draw: you joined" in shown
    assert reply.buttons == []

    bot.clock.advance(timedelta(days=21))  # 2026-03-31: the promised date has passed
    await alice.send("📋 My redemptions")  # the menu button does the same
    reply = await alice.next_reply()
    assert "Still under review — it is taking longer than the Mar 30, 2026 we promised" in reply.text

    async with unit_of_work(bot.sessions) as session:
        await review.reject(session, order_id, STAFF_ID, REASON, bot.clock.now(), fixable=True)
    await bot.runtime.tick()
    message = await alice.next_reply()
    assert "Something is missing in your redemption" in message.text
    assert f"Your redemption for Productivity From Spring! (order {order_id}) needs more information" in message.text
    assert f"Reason: {REASON}" in message.text and "Redeem again" in message.text
    assert message.buttons == ["🔁 Redeem again"]
    assert message.message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"g:again:{order_id}"
    assert [m.status for m in await decision_messages(bot, 5001)] == [OutboxStatus.SENT]

    await alice.send("/status")
    reply = await alice.next_reply()
    shown = lines(reply.text)
    assert "Status: ⚠️ Missing information — please fix it and redeem again" in shown
    assert f"Reason: {REASON}" in shown
    assert reply.buttons == ["🔁 Redeem again"]
    assert reply.message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"g:again:{order_id}"
    assert (await claim_row(bot, order_id)).status == ClaimStatus.MISSING_INFO


async def test_approved_with_activation_code(bot: BotHarness) -> None:
    _, order_id = await claimant(bot, 5002)
    alice = bot.person(5002, "Alice")
    await alice.send("/status")  # she has talked to the bot (Telegram lets no bot write first)
    assert "Under review" in (await alice.next_reply()).text
    async with unit_of_work(bot.sessions) as session:
        promotion = await session.get(Promotion, await promotion_id(bot))
        assert promotion is not None
        report = await codes.import_codes(session, promotion, f"code\n{CODE}\n", bot.clock.now())
        assert report.added == 1
    async with unit_of_work(bot.sessions) as session:
        decision = await review.approve(session, order_id, STAFF_ID, bot.clock.now())
        assert decision.code == CODE

    await bot.runtime.tick()
    message = await alice.next_reply()
    assert "Redeem for Productivity From Spring! has been approved" in message.text
    assert f"Your activation code is:\n{CODE}" in message.text and CODE in entity_texts(message, "code")
    assert "15 letters and digits" in message.text and "AAAAA-BBBBB-CCCCC" in message.text
    assert f"Landing page: {LANDING}" in message.text
    assert message.buttons == []

    await alice.send("/status")
    reply = await alice.next_reply()
    shown = lines(reply.text)
    assert "Status: ✅ Redeem success" in shown
    assert f"Activation code: {CODE}" in shown and CODE in entity_texts(reply, "code")
    assert "Enter it without spaces: 15 letters and digits in groups of five, like AAAAA-BBBBB-CCCCC." in shown
    assert f"Landing page: {LANDING}" in shown
    assert reply.buttons == []


async def test_final_rejection_shows_the_reason_and_no_button(bot: BotHarness) -> None:
    _, order_id = await claimant(bot, 5003)
    alice = bot.person(5003, "Alice")
    await alice.send("/status")
    assert "Under review" in (await alice.next_reply()).text
    reason = "The S/N photo shows a different product <MP243X> & not the one registered."
    async with unit_of_work(bot.sessions) as session:
        await review.reject(session, order_id, STAFF_ID, reason, bot.clock.now(), fixable=False)
    await bot.runtime.tick()
    message = await alice.next_reply()
    assert "Your redemption is not qualified" in message.text
    assert f"Reason: {reason}" in message.text and "This decision is final." in message.text
    assert message.buttons == []

    await alice.send("/status")
    reply = await alice.next_reply()
    shown = lines(reply.text)
    assert "Status: ❌ Not qualified (final)" in shown
    assert f"Reason: {reason}" in shown
    assert reply.buttons == []
    assert (await claim_row(bot, order_id)).status == ClaimStatus.REJECTED


async def test_cashback_shows_amount_and_payment_date(bot: BotHarness) -> None:
    promotion = await make_promotion(
        bot,
        "cashback",
        PrizeKind.CASHBACK,
        cashback_amount=Decimal("50.00"),
        currency="SGD",
        processing_days_min=30,
        processing_days_max=30,
    )
    member_id, (product_id,) = await member_with_products(
        bot, 5004, Owned(MP242, "BA9J100000001", BOUGHT, invoice=picture())
    )
    order_id = await submit(bot, member_id, [product_id], promotion, lucky=None)
    alice = bot.person(5004, "Alice")
    await alice.send("/status")
    assert (
        "answer expected by Apr 22, 2026" in (await alice.next_reply()).text
    )  # 30 working days of review; Good Friday (Apr 3) is a public holiday in Singapore
    async with unit_of_work(bot.sessions) as session:
        await review.approve(session, order_id, STAFF_ID, bot.clock.now())  # 2026-03-10
    await bot.runtime.tick()
    message = await alice.next_reply()
    assert "Redeem for Cashback Deal has been approved" in message.text
    assert (
        "Your cashback of 50.00 Singapore dollars will be paid by Apr 21, 2026 at the latest" in message.text
    )  # 30 working days, in the customer's locale as /status says it

    await alice.send("/status")
    reply = await alice.next_reply()
    assert (
        "Status: ✅ Redeem success — cashback of 50.00 Singapore dollars, paid by Apr 21, 2026 at the latest"
        in lines(reply.text)
    )
    assert "Lucky draw" not in reply.text


async def test_physical_prize_shows_the_shipping_promise(bot: BotHarness) -> None:
    promotion = await make_promotion(
        bot, "gift", PrizeKind.PHYSICAL, prize_description={"en": "A PRO gaming mouse", "zh-Hant": "PRO 電競滑鼠"}
    )
    member_id, (product_id,) = await member_with_products(
        bot, 5005, Owned(MP242, "BA9J100000002", BOUGHT, invoice=picture())
    )
    address = {
        "name": "Alice Tan",
        "street": "1 Orchard Rd",
        "city": "Singapore",
        "postcode": "238801",
        "country": "SG",
        "phone": "+6591234567",
    }
    order_id = await submit(bot, member_id, [product_id], promotion, lucky=None, address=address)
    alice = bot.person(5005, "Alice")
    await alice.send("/status")
    assert "Under review" in (await alice.next_reply()).text

    async with unit_of_work(bot.sessions) as session:
        await review.approve(session, order_id, STAFF_ID, bot.clock.now())
    await bot.runtime.tick()
    message = await alice.next_reply()
    assert "Redeem for Gift Deal has been approved" in message.text and "within 8–12 weeks" in message.text

    await alice.send("/status")
    reply = await alice.next_reply()
    expected = "Status: ✅ Redeem success — your prize (A PRO gaming mouse) is being prepared and ships within 8–12 weeks of approval (by Jun 2, 2026)"
    assert expected in lines(reply.text)


async def test_traditional_chinese(bot: BotHarness) -> None:
    _, order_id = await claimant(bot, 5006, language="zh-Hant")
    bao = bot.person(5006, "Bao", "zh-TW")
    await bao.send("/status")
    reply = await bao.next_reply()
    assert "📋 您的兌換紀錄（1）" in reply.text and "春季生產力大放送！" in reply.text
    assert "狀態：⏳ 審核中 — 工作人員正在審核；預計於 2026年3月30日 前回覆" in lines(reply.text)

    async with unit_of_work(bot.sessions) as session:
        await review.reject(session, order_id, STAFF_ID, "請提供包含產品名稱的發票。", bot.clock.now())
    await bot.runtime.tick()
    message = await bao.next_reply()
    assert "您的兌換資料不完整" in message.text and "原因：請提供包含產品名稱的發票。" in message.text
    assert message.buttons == ["🔁 再次兌換"]


async def test_no_claims(bot: BotHarness) -> None:
    await member_with_products(bot, 5007)
    alice = bot.person(5007, "Alice")
    await alice.send("/status")
    reply = await alice.next_reply()
    assert (
        "You have not redeemed any promotion yet" in reply.text
        and "/promotions" in reply.text
        and "/redeem" in reply.text
    )
    stranger = bot.person(5008, "Stranger")  # no profile at all: the same friendly answer
    await stranger.send("/status")
    assert "You have not redeemed any promotion yet" in (await stranger.next_reply()).text


async def test_a_long_history_is_split_newest_first(bot: BotHarness) -> None:
    """23 claims: three messages of at most ten records, each within Telegram's limit."""
    member_id, (product_id,) = await member_with_products(bot, 5009, Owned(MP241, SERIAL, BOUGHT, invoice=picture()))
    promotion = await promotion_id(bot)
    start = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
    async with unit_of_work(bot.sessions) as session:
        for n in range(23):
            fixable = n in (21, 22)  # the two newest: both need a Redeem-again button
            session.add(
                Claim(
                    order_id=f"hist{n:06d}",
                    member_id=member_id,
                    promotion_id=promotion,
                    email="user5009@example.com",
                    status=ClaimStatus.MISSING_INFO if fixable else ClaimStatus.REJECTED,
                    reason="R" * 2000
                    if n == 0
                    else "Blurry S/N photo"
                    if fixable
                    else "The invoice date is outside the promotion period.",
                    lucky_draw_opt_in=False,
                    attempt=1,
                    idempotency_key=f"hist-{n}",
                    submitted_at=start + timedelta(days=n),
                    decided_at=start + timedelta(days=n, hours=1),
                    items=[
                        ClaimItem(registered_product_id=product_id, sn_photo_path="sn/x.jpg", sn_photo_sha256="0" * 64)
                    ],
                )
            )
    alice = bot.person(5009, "Alice")
    await alice.send("/status")
    replies = [await alice.next_reply() for _ in range(3)]
    assert "📋 Your redemptions — 1 to 10 of 23" in replies[0].text
    assert "📋 Your redemptions — 11 to 20 of 23" in replies[1].text
    assert "📋 Your redemptions — 21 to 23 of 23" in replies[2].text
    assert all(len(r.text) < 4096 for r in replies)
    first = replies[0].text
    assert first.index("hist000022") < first.index("hist000021") < first.index("hist000020")  # newest first
    assert "hist000000" in replies[2].text
    assert replies[0].buttons == ["🔁 Redeem again · hist000022", "🔁 Redeem again · hist000021"]
    assert replies[1].buttons == [] and replies[2].buttons == []
    assert (
        "R" * 600 not in replies[2].text and "R" * 500 + "…" in replies[2].text
    )  # a very long reason is shortened in the list
