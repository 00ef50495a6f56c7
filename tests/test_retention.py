"""Photo retention: photos of claims decided more than PHOTO_RETENTION_DAYS ago are deleted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage import review
from storage.db import unit_of_work
from storage.models import AuditEntry, Claim, ClaimItem, ClaimStatus, ImageFingerprint, Promotion, RegisteredProduct
from tests.conftest import STAFF_ID, BotHarness
from tests.factories import add_product, customer
from tests.test_mydata import _approve, _claim, _media_file, _member

SERIALS = ("BA9H040230046", "BA9H616425247", "BA9H647258771", "BA9H841330175")


async def _state(bot: BotHarness) -> tuple[dict[int, str | None], dict[int, str | None]]:
    """Invoice path per product id, S/N photo path per product id."""
    async with unit_of_work(bot.sessions) as s:
        invoices = {p.id: p.invoice_path for p in (await s.scalars(select(RegisteredProduct))).all()}
        photos = {i.registered_product_id: i.sn_photo_path for i in (await s.scalars(select(ClaimItem))).all()}
    return invoices, photos


async def test_retention_deletes_only_photos_of_long_decided_claims(bot: BotHarness) -> None:
    await customer(bot, 1001, "Alice")
    await customer(bot, 1002, "Bob")
    alice, bob = (await _member(bot, 1001)).id, (await _member(bot, 1002)).id
    approved_p = await add_product(bot, alice, SERIALS[0])
    rejected_p = await add_product(bot, alice, SERIALS[1])
    missing_p = await add_product(bot, alice, SERIALS[2])
    never_claimed = await add_product(bot, alice, "BA7G360161055", purchase="2026-01-10")
    open_p = await add_product(bot, bob, SERIALS[3])

    approved = await _claim(bot, alice, approved_p, "approved")
    await _approve(bot, approved)
    rejected = await _claim(bot, alice, rejected_p, "rejected")
    missing = await _claim(bot, alice, missing_p, "missing")
    async with unit_of_work(bot.sessions) as s:
        await review.reject(
            s, rejected, STAFF_ID, "The invoice date is outside the promotion.", bot.clock.now(), fixable=False
        )
        await review.reject(s, missing, STAFF_ID, "Please send a sharper photo.", bot.clock.now(), fixable=True)
    # Bob's claim, still in review a year on, uses the very same S/N photo file as Alice's approved one.
    bob_open = await _claim(bot, bob, open_p, "bob")
    invoices, photos = await _state(bot)
    async with unit_of_work(bot.sessions) as s:
        bob_item = await s.scalar(select(ClaimItem).where(ClaimItem.registered_product_id == open_p))
        assert bob_item is not None
        own_bob_photo, bob_item.sn_photo_path = bob_item.sn_photo_path, photos[approved_p]
        s.add(
            ImageFingerprint(
                sha256="1" * 64,
                phash=7,
                band0=7,
                band1=0,
                band2=0,
                band3=0,
                member_id=alice,
                kind="sn_photo",
                path=photos[rejected_p],
                created_at=bot.clock.now(),
            )
        )
    invoices, photos = await _state(bot)
    assert bob_open and photos[open_p] == photos[approved_p]

    bot.clock.advance(timedelta(days=364))
    assert await bot.runtime.run_retention() == 0
    assert (invoices, photos) == await _state(bot)

    bot.clock.advance(timedelta(days=2))
    await bot.runtime.tick()  # the background jobs, retention among them
    after_invoices, after_photos = await _state(bot)
    # Decided (approved, finally rejected) more than a year ago: photos and invoices gone.
    for product in (approved_p, rejected_p):
        assert after_photos[product] is None and after_invoices[product] is None
        assert not _media_file(bot, invoices[product]).exists()
    assert not _media_file(bot, photos[rejected_p]).exists()
    # The S/N file Bob's open claim still uses stays, with his reference.
    assert after_photos[open_p] == photos[approved_p] and _media_file(bot, photos[approved_p]).exists()
    # Missing information is not decided; a product never redeemed keeps its invoice; Bob's open claim keeps all.
    for product in (missing_p, open_p):
        assert after_photos[product] == photos[product] and after_invoices[product] == invoices[product]
        assert _media_file(bot, invoices[product]).exists()
    assert (
        after_invoices[never_claimed] == invoices[never_claimed] and _media_file(bot, invoices[never_claimed]).exists()
    )
    assert _media_file(bot, photos[missing_p]).exists() and _media_file(bot, own_bob_photo).exists()
    async with unit_of_work(bot.sessions) as s:
        fingerprint = await s.scalar(select(ImageFingerprint).where(ImageFingerprint.sha256 == "1" * 64))
        assert fingerprint is not None and fingerprint.path is None  # the hashes stay for the duplicate check
        entries = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.photos_deleted"))).all()
    assert len(entries) == 1
    assert (
        sorted(entries[0].details["order_ids"]) == sorted([approved, rejected])
        and entries[0].details["files_deleted"] == 3
    )

    # Nothing left to do: a second run changes nothing and writes no audit entry.
    assert await bot.runtime.run_retention() == 0


async def test_retention_zero_keeps_photos_forever(bot: BotHarness) -> None:
    await customer(bot, 1001, "Alice")
    alice = (await _member(bot, 1001)).id
    product = await add_product(bot, alice, SERIALS[0])
    await _approve(bot, await _claim(bot, alice, product, "approved"))
    bot.settings.photo_retention_days = 0
    bot.clock.advance(timedelta(days=3650))
    assert await bot.runtime.run_retention() == 0
    invoices, photos = await _state(bot)
    assert invoices[product] and photos[product] and _media_file(bot, photos[product]).exists()


async def test_retention_keeps_an_invoice_while_another_claim_of_the_product_is_open(bot: BotHarness) -> None:
    """A product whose first claim is long decided but which is in an open claim now keeps its
    invoice, and the S/N file both claims use stays for the open one."""
    await customer(bot, 1001, "Alice")
    member = await _member(bot, 1001)
    product = await add_product(bot, member.id, SERIALS[0])
    first = await _claim(bot, member.id, product, "first")
    async with unit_of_work(bot.sessions) as s:
        await review.reject(s, first, STAFF_ID, "Not qualified.", bot.clock.now(), fixable=False)
    bot.clock.advance(timedelta(days=400))
    async with unit_of_work(bot.sessions) as s:  # a later claim for the same product, still in review
        old = await s.scalar(select(ClaimItem).where(ClaimItem.registered_product_id == product))
        promotion_id = await s.scalar(select(Promotion.id).where(Promotion.slug == "spring-2026"))
        assert old is not None and promotion_id is not None
        later = Claim(
            order_id="zzzzzzzzzz",
            member_id=member.id,
            promotion_id=promotion_id,
            email=member.email or "",
            status=ClaimStatus.REVIEW,
            attempt=1,
            idempotency_key="later",
            submitted_at=bot.clock.now(),
        )
        later.items = [
            ClaimItem(
                registered_product_id=product, sn_photo_path=old.sn_photo_path, sn_photo_sha256=old.sn_photo_sha256
            )
        ]
        s.add(later)
    assert await bot.runtime.run_retention() == 1
    invoices, _ = await _state(bot)
    assert invoices[product] is not None and _media_file(bot, invoices[product]).exists()
    async with unit_of_work(bot.sessions) as s:
        paths = (
            await s.scalars(
                select(ClaimItem.sn_photo_path).where(ClaimItem.registered_product_id == product).order_by(ClaimItem.id)
            )
        ).all()
    assert paths[0] is None and paths[1] is not None and _media_file(bot, paths[1]).exists()
