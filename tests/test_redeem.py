"""Redeeming a promotion, its limits, and redeeming again (issue: customer journey 2)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage import claims, review
from storage.db import unit_of_work
from storage.models import Claim, ClaimEvent, ClaimItem, ClaimStatus, Member
from tests.conftest import STAFF_ID, BotHarness
from tests.factories import add_product, customer, distinct_photo, invoice_jpeg, make_member, set_promotion
from tests.harness import Person, Reply

ELIGIBLE = "BA9H040230046"  # PRO MP241, in the demo promotion
OTHER_MODEL = "BA7G360161055"  # Optix G27C4, not in it


async def _member_id(bot: BotHarness, user_id: int) -> int:
    async with unit_of_work(bot.sessions) as s:
        member_id = await s.scalar(select(Member.id).where(Member.telegram_user_id == user_id))
        assert member_id is not None
        return member_id


async def _claims(bot: BotHarness) -> list[Claim]:
    async with unit_of_work(bot.sessions) as s:
        return list((await s.scalars(select(Claim).order_by(Claim.id))).all())


async def _redeem_until_confirm(
    alice: Person, *, lucky: str | None = "Yes", confirm: bool = True, serial: str = ELIGIBLE
) -> Reply | None:
    """From /redeem to the confirmation page (returned), ticking the eligible monitor."""
    await alice.send("/redeem")
    await alice.expect("Tick the products")
    await alice.press(f"▫️ PRO MP241 ({serial})")
    ticked = await alice.next_reply()
    assert ticked.kind == "edit" and f"✅ PRO MP241 ({serial})" in ticked.buttons
    await alice.press("➡️ Next")
    prompt = await alice.expect("on the product itself")
    assert prompt.has_photo  # the example of what is meant
    await alice.send_photo(distinct_photo(f"S/N {serial}"))
    if lucky is not None:
        await alice.expect("lucky draw", "electric height-adjustable desk")
        await alice.press(lucky)
    if not confirm:
        return None
    album = await alice.next_reply()
    assert album.is_album and "Proof of purchase" in album.text
    return await alice.expect("Please check your redemption")


async def test_two_products_one_eligible_with_reasons(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    member = await _member_id(bot, 1001)
    await add_product(bot, member, ELIGIBLE)
    await add_product(bot, member, OTHER_MODEL, purchase="2026-01-10")
    await alice.send("/redeem")
    products = await alice.expect("Tick the products", "3 more")
    assert products.buttons[:2] == ["▫️ PRO MP241 (BA9H040230046)", "➡️ Next"]
    await alice.press("❔ Why not the others?")
    why = await alice.expect("Optix G27C4", "is not part of the promotion", "outside")
    assert "PRO MP241" not in why.text and "&amp;" not in why.text and "&lt;" not in why.text


async def test_nothing_eligible_says_why_and_offers_registration(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await _member_id(bot, 1001), OTHER_MODEL)
    await alice.send("/redeem")
    await alice.expect("None of your products")
    await alice.expect("Optix G27C4", "is not part of the promotion")
    await alice.expect("/register")


async def test_full_redemption(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    confirm = await _redeem_until_confirm(alice)
    assert confirm is not None
    for fact in ("Monitor", "PRO MP241", ELIGIBLE, "Singapore", "Lucky draw: Yes", "Purchase date: Mar 3, 2026"):
        assert fact in confirm.text
    assert "<b>" not in confirm.text and "&lt;" not in confirm.text  # formatting rendered, not shown
    assert {"bold", "code"} <= {e["type"] for e in confirm.message.get("entities", [])}
    await alice.press("✅ Redeem")
    done = await alice.expect("Order ID", "7–14 working days", "into this chat")
    [claim] = await _claims(bot)
    assert claim.order_id in done.text and len(claim.order_id) == 10
    assert claim.status == ClaimStatus.REVIEW and claim.lucky_draw_opt_in is True
    # A second tap on the old Redeem button creates nothing.
    await alice.press("✅ Redeem")
    assert "earlier message" in await alice.next_toast()
    assert len(await _claims(bot)) == 1


async def test_no_lucky_draw_question_when_promotion_has_none(bot: BotHarness) -> None:
    await set_promotion(bot, lucky_draw=False)
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    confirm = await _redeem_until_confirm(alice, lucky=None)
    assert confirm is not None and "Lucky draw" not in confirm.text
    await alice.press("✅ Redeem")
    await alice.expect("Order ID")
    [claim] = await _claims(bot)
    assert claim.lucky_draw_opt_in is None


async def test_physical_prize_asks_for_an_address(bot: BotHarness) -> None:
    """Name and country come from the profile; the lines it lacks are asked one at a time."""
    await set_promotion(bot, prize_kind="physical", lucky_draw=False)
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    await _redeem_until_confirm(alice, lucky=None, confirm=False)
    await alice.expect("name, country and phone come from your profile")
    await alice.expect("Street")
    for answer, next_question in (
        ("1 Orchard Road #02-01", "City"),
        ("Singapore", "Postcode"),
        ("238824", "phone number"),
    ):
        await alice.send(answer)
        await alice.expect(next_question)
    await alice.send("12345")
    await alice.expect("valid phone number")
    await alice.send("+65 9123 4567")
    await alice.expect("check the shipping address", "Test User1001", "238824", "+6591234567")
    await alice.press("✅ Confirm")
    await alice.next_reply()  # the photos
    await alice.expect("Ship to: Test User1001")
    await alice.press("✅ Redeem")
    await alice.expect("8–12 weeks", "takes 7–14 working days")
    [claim] = await _claims(bot)
    assert claim.shipping_address == {
        "name": "Test User1001",
        "street": "1 Orchard Road #02-01",
        "city": "Singapore",
        "postcode": "238824",
        "country": "Singapore",
        "phone": "+6591234567",
    }


async def test_limit_counts_across_accounts_sharing_an_email(bot: BotHarness) -> None:
    await set_promotion(bot, redeem_limit_per_email=1)
    alice = await customer(bot, 1001, "Alice", email="shared@example.com")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    await _redeem_until_confirm(alice)
    await alice.press("✅ Redeem")
    await alice.expect("Order ID")

    bob = await customer(bot, 1002, "Bob", email="shared@example.com")
    await add_product(bot, await _member_id(bot, 1002), "BA9H616425247")
    await bob.send("/redeem")
    await bob.expect("None of your products")
    await bob.expect("limit of 1 per e-mail")


async def test_two_simultaneous_submits_cannot_pass_the_limit(bot: BotHarness) -> None:
    """Two accounts, one e-mail, limit 1, submitting at the same moment: exactly one claim."""
    await set_promotion(bot, redeem_limit_per_email=1)
    ids = [await make_member(bot.sessions, uid, email="twin@example.com") for uid in (2001, 2002)]
    products = [await add_product(bot, ids[0], ELIGIBLE), await add_product(bot, ids[1], "BA9H616425247")]
    async with unit_of_work(bot.sessions) as s:
        promotion_id = (await s.scalars(select(Claim.promotion_id))).first()
        from storage.models import Promotion

        promotion_id = await s.scalar(select(Promotion.id).where(Promotion.slug == "spring-2026"))

    async def submit(member_id: int, product_id: int) -> str:
        async with unit_of_work(bot.sessions) as s:
            member = await s.get(Member, member_id)
            assert member is not None and promotion_id is not None
            draft = claims.ClaimDraft(
                promotion_id, [claims.ItemDraft(product_id, "x/y.jpg", "0" * 64)], True, None, f"k{member_id}"
            )
            try:
                await claims.submit(s, member, draft, bot.clock.now())
                return "ok"
            except claims.ClaimRefused as refused:
                return refused.refusal.value

    outcomes = await asyncio.gather(submit(ids[0], products[0]), submit(ids[1], products[1]))
    assert sorted(outcomes) == ["limit_reached", "ok"]
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(func.count()).select_from(ClaimItem)) == 1


async def test_redeem_again_after_missing_information(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    await _redeem_until_confirm(alice)
    await alice.press("✅ Redeem")
    await alice.expect("Order ID")
    [claim] = await _claims(bot)
    first_photo = (await _items(bot))[0].sn_photo_path
    async with unit_of_work(bot.sessions) as s:
        from storage.models import RegisteredProduct

        first_invoice = await s.scalar(select(RegisteredProduct.invoice_path))
    async with unit_of_work(bot.sessions) as s:
        await review.reject(
            s, claim.order_id, STAFF_ID, "The S/N photo shows the box, not the product.", bot.clock.now()
        )
    await bot.runtime.tick()  # the outbox delivers the decision
    message = await alice.expect("the box, not the product")
    assert "🔁 Redeem again" in message.buttons or any("again" in b.lower() for b in message.buttons)
    await alice.press(message.buttons[0])
    await alice.expect("Redeem again", claim.order_id, "the box, not the product")
    await alice.expect("Send only what needs fixing")
    await alice.press("📷 New S/N photo — PRO MP241")
    await alice.expect("on the product itself")
    await alice.send_photo(invoice_jpeg(text="S/N on the back of the monitor"))
    await alice.expect("Send only what needs fixing")
    await alice.press("🧾 New invoice — PRO MP241")
    await alice.expect("new photo of the invoice")
    await alice.send_photo(distinct_photo("a clearer invoice"))
    await alice.expect("Send only what needs fixing")
    await alice.press("➡️ Review and redeem again")
    await alice.next_reply()  # photos
    await alice.expect("Please check your redemption")
    await alice.press("✅ Redeem")
    await alice.expect(claim.order_id)
    [again] = await _claims(bot)
    assert again.id == claim.id and again.status == ClaimStatus.REVIEW and again.attempt == 2
    assert (await _items(bot))[0].sn_photo_path != first_photo
    async with unit_of_work(bot.sessions) as s:
        from storage.models import RegisteredProduct

        product = await s.scalar(select(RegisteredProduct))
        assert product is not None and product.invoice_path != first_invoice
        assert product.invoice_sha256 == _sha_of_stored(bot, product.invoice_path)
    async with unit_of_work(bot.sessions) as s:
        kinds = list(
            (
                await s.scalars(select(ClaimEvent.kind).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.id))
            ).all()
        )
    assert kinds == ["submitted", "missing_info", "resubmitted"]


async def _items(bot: BotHarness) -> list[ClaimItem]:
    async with unit_of_work(bot.sessions) as s:
        return list((await s.scalars(select(ClaimItem))).all())


async def test_erasing_your_data_does_not_reset_the_email_limit(bot: BotHarness) -> None:
    """After /deleteme the claim keeps a one-way token of the e-mail; the same address is still capped."""
    await set_promotion(bot, redeem_limit_per_email=1)
    first = await make_member(bot.sessions, 2001, email="again@example.com")
    product = await add_product(bot, first, ELIGIBLE)
    async with unit_of_work(bot.sessions) as s:
        from storage.models import Promotion

        promotion_id = await s.scalar(select(Promotion.id).where(Promotion.slug == "spring-2026"))
        member = await s.get(Member, first)
        assert member is not None and promotion_id is not None
        submitted = await claims.submit(
            s,
            member,
            claims.ClaimDraft(promotion_id, [claims.ItemDraft(product, "x.jpg", "0" * 64)], True, None, "k1"),
            bot.clock.now(),
        )
        submitted.claim.email = claims.email_token("again@example.com")  # what /deleteme leaves behind
    bob = await customer(bot, 1002, "Bob", email="AGAIN@example.com")
    await add_product(bot, await _member_id(bot, 1002), "BA9H616425247")
    await bob.send("/redeem")
    await bob.expect("None of your products")
    await bob.expect("limit of 1 per e-mail")


def _sha_of_stored(bot: BotHarness, path: str | None) -> str:
    """The stored file's sha256: the product points at the new invoice that was uploaded."""
    import hashlib

    assert path is not None and bot.runtime.services is not None
    return hashlib.sha256(bot.runtime.services.media.read(path)).hexdigest()
