"""The customer's own data: /mydata (JSON + photos zip) and /deleteme (erasure), end to end."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select

from conversations import mydata as mydata_module
from locales.i18n import Translator
from storage import claims, privacy, review
from storage.db import unit_of_work
from storage.models import (
    ActivationCode,
    AuditEntry,
    Claim,
    ClaimEvent,
    ClaimItem,
    ClaimStatus,
    ConversationState,
    ImageFingerprint,
    Member,
    OutboxMessage,
    Promotion,
    RegisteredProduct,
)
from tests.conftest import STAFF_CHAT_ID, STAFF_ID, BotHarness
from tests.factories import add_product, customer, invoice_jpeg
from tests.harness import Person, Reply
from tests.staff_tools_support import open_chat

APPROVED_SERIAL = "BA9H040230046"  # PRO MP241: in the demo promotion
OPEN_SERIAL = "BA9H616425247"
BOB_SERIAL = "BA9H647258771"
UNCLAIMED_SERIAL = "BA7G360161055"  # another model, never redeemed
CODE = "AAAAA-BBBBB-CCCCC"
ADDRESS = {
    "name": "Alice Tan",
    "street": "1 Orchard Road #02-01",
    "city": "Singapore",
    "postcode": "238824",
    "country": "Singapore",
    "phone": "+6591234567",
}


async def _member(bot: BotHarness, user_id: int) -> Member:
    async with unit_of_work(bot.sessions) as s:
        member = await s.scalar(select(Member).where(Member.telegram_user_id == user_id))
        assert member is not None
        return member


async def _claim(
    bot: BotHarness, member_id: int, product_id: int, label: str, *, address: dict[str, str] | None = None
) -> str:
    """A submitted claim with a stored S/N photo; returns its order id."""
    services = bot.runtime.services
    assert services is not None
    photo = services.media.save(invoice_jpeg(text=f"S/N label {label}"))
    async with unit_of_work(bot.sessions) as s:
        member = await s.get(Member, member_id)
        promotion_id = await s.scalar(select(Promotion.id).where(Promotion.slug == "spring-2026"))
        assert member is not None and promotion_id is not None
        draft = claims.ClaimDraft(
            promotion_id,
            [claims.ItemDraft(product_id, photo.relative_path, photo.sha256)],
            True,
            address,
            f"t:{member_id}:{product_id}",
        )
        return (await claims.submit(s, member, draft, bot.clock.now())).claim.order_id


async def _approve(bot: BotHarness, order_id: str, code: str = CODE) -> None:
    async with unit_of_work(bot.sessions) as s:
        await review.approve(s, order_id, STAFF_ID, bot.clock.now(), code=code)


def _download(bot: BotHarness, reply: Reply) -> tuple[str, bytes]:
    document = reply.document
    assert document is not None, f"expected a document, got: {reply.text}"
    return document["file_name"], bot.emulator.file_bytes(document["file_id"])


def _media_file(bot: BotHarness, path: str):  # type: ignore[no-untyped-def]
    services = bot.runtime.services
    assert services is not None
    return services.media.path(path)


async def _alice_with_history(bot: BotHarness) -> tuple[Person, dict[str, Any]]:
    """Alice: an approved claim (with a code and an address), a claim in review, a product never
    redeemed. Bob: a claim of his own. Returns what the tests look for."""
    alice = await customer(bot, 1001, "Alice", email="alice@example.com")
    bob = await customer(bot, 1002, "Bob", email="bob@example.com")
    del bob
    a, b = await _member(bot, 1001), await _member(bot, 1002)
    approved_product = await add_product(bot, a.id, APPROVED_SERIAL)
    open_product = await add_product(bot, a.id, OPEN_SERIAL)
    unclaimed = await add_product(bot, a.id, UNCLAIMED_SERIAL, purchase="2026-01-10")
    bob_product = await add_product(bot, b.id, BOB_SERIAL)
    approved = await _claim(bot, a.id, approved_product, "alice approved", address=ADDRESS)
    open_chat(bot.emulator, 1001, "Alice")  # so the approval reaches her now, not amid a later exchange of the test
    await _approve(bot, approved)
    await alice.expect("Your redemption is approved")
    still_open = await _claim(bot, a.id, open_product, "alice open")
    bob_order = await _claim(bot, b.id, bob_product, "bob")
    async with unit_of_work(bot.sessions) as s:
        products = {p.id: p for p in (await s.scalars(select(RegisteredProduct))).all()}
        items = {i.registered_product_id: i for i in (await s.scalars(select(ClaimItem))).all()}
    return alice, {
        "approved": approved,
        "open": still_open,
        "bob_order": bob_order,
        "approved_product": approved_product,
        "open_product": open_product,
        "unclaimed": unclaimed,
        "bob_product": bob_product,
        "invoice": {pid: p.invoice_path for pid, p in products.items()},
        "sn": {pid: i.sn_photo_path for pid, i in items.items()},
    }


# ---------------------------------------------------------------- /mydata


async def test_mydata_sends_their_data_as_json_and_their_photos_as_zip(bot: BotHarness) -> None:
    alice, known = await _alice_with_history(bot)
    await alice.send("/mydata")
    name, raw = _download(bot, await alice.expect("Your data", "follow as a zip"))
    assert name.startswith("my-data-") and name.endswith(".json")
    data = json.loads(raw)
    assert data["profile"]["email"] == "alice@example.com" and data["profile"]["telegram_user_id"] == 1001
    assert data["consent"]["privacy_policy_accepted_at"].startswith("2026-03-01")
    assert {p["serial"] for p in data["products"]} == {APPROVED_SERIAL, OPEN_SERIAL, UNCLAIMED_SERIAL}
    by_order = {c["order_id"]: c for c in data["claims"]}
    assert set(by_order) == {known["approved"], known["open"]}
    approved = by_order[known["approved"]]
    assert (
        approved["status"] == "approved"
        and approved["activation_code"] == CODE
        and approved["shipping_address"] == ADDRESS
    )
    assert [h["event"] for h in approved["history"]] == ["submitted", "approved"]
    assert by_order[known["open"]]["status"] == "review"
    assert any(entry["action"] == "claim.approved" and entry["by"] == "staff" for entry in data["activity_log"])
    # Nobody else's data, and no staff identities.
    text = raw.decode()
    for foreign in ("bob@example.com", BOB_SERIAL, known["bob_order"], "User1002", "decided_by", "by_name"):
        assert foreign not in text

    zip_name, zipped = _download(bot, await alice.expect("Your photos"))
    assert zip_name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        names = set(archive.namelist())
        assert names == set(data["photos"])
        assert (
            f"invoices/{APPROVED_SERIAL}.jpg" in names
            and f"sn_photos/{known['approved']}_{APPROVED_SERIAL}.jpg" in names
        )
        assert (
            archive.read(f"invoices/{APPROVED_SERIAL}.jpg")
            == _media_file(bot, known["invoice"][known["approved_product"]]).read_bytes()
        )
        assert (
            archive.read(f"sn_photos/{known['open']}_{OPEN_SERIAL}.jpg")
            == _media_file(bot, known["sn"][known["open_product"]]).read_bytes()
        )
    assert len(names) == 5  # three invoices, two S/N photos; none of Bob's
    async with unit_of_work(bot.sessions) as s:
        assert (
            await s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "member.exported"))
            == 1
        )


async def test_mydata_splits_a_large_zip_into_parts(bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, known = await _alice_with_history(bot)
    largest = max(_media_file(bot, p).stat().st_size for p in [*known["invoice"].values(), *known["sn"].values()] if p)
    limit = 2 * largest + 1000
    monkeypatch.setattr(mydata_module, "PART_LIMIT", limit)
    await alice.send("/mydata")
    _, raw = _download(bot, await alice.expect("Your data"))
    expected = set(json.loads(raw)["photos"])
    seen: set[str] = set()
    parts = []
    while seen != expected:
        reply = await alice.expect("Your photos, part")
        name, zipped = _download(bot, reply)
        parts.append(name)
        assert len(zipped) <= limit
        with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
            assert not seen & set(archive.namelist())
            seen |= set(archive.namelist())
    assert len(parts) >= 3 and parts[0].endswith(f"part1of{len(parts)}.zip")


def test_pack_photos_keeps_every_part_under_the_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = {f"p{i}": bytes([i]) * (1000 + 300 * i) for i in range(8)}
    photos = [privacy.ExportPhoto(f"photos/{name}.jpg", name) for name in files]
    assert len(privacy.pack_photos(photos, files.__getitem__)) == 1
    parts = privacy.pack_photos(photos, files.__getitem__, limit=4000)
    assert len(parts) > 2 and all(len(part) <= 4000 for part in parts)
    unpacked: dict[str, bytes] = {}
    for part in parts:
        with zipfile.ZipFile(io.BytesIO(part)) as archive:
            unpacked |= {n: archive.read(n) for n in archive.namelist()}
    assert unpacked == {f"photos/{name}.jpg": data for name, data in files.items()}
    missing = [*photos, privacy.ExportPhoto("photos/gone.jpg", "gone")]
    assert (
        len(
            privacy.pack_photos(
                missing, lambda p: files[p] if p in files else (_ for _ in ()).throw(FileNotFoundError(p))
            )
        )
        == 1
    )


async def test_mydata_and_deleteme_without_a_profile(bot: BotHarness) -> None:
    eve = bot.person(1005, "Eve")
    await eve.send("/mydata")
    await eve.expect("no profile")
    await eve.send("/deleteme")
    await eve.expect("no profile", "nothing to delete")


# ---------------------------------------------------------------- /deleteme


async def test_deleteme_cancel_changes_nothing_and_the_old_buttons_are_refused(bot: BotHarness) -> None:
    alice, known = await _alice_with_history(bot)
    await alice.send("/deleteme")
    question = await alice.expect("Delete all your data?", "your redemptions (2)", "withdrawn", known["open"])
    assert question.buttons == ["🗑 Yes, delete everything", "✖️ Cancel"]
    await alice.press("✖️ Cancel")
    await alice.expect("Nothing was deleted")
    await alice.press("🗑 Yes, delete everything", on=question)
    assert "earlier message" in await alice.next_toast()
    member = await _member(bot, 1001)
    assert member.email == "alice@example.com" and member.deleted_at is None
    async with unit_of_work(bot.sessions) as s:
        assert await s.get(ConversationState, 1001) is None
        statuses = dict((await s.execute(select(Claim.order_id, Claim.status))).all())
    assert statuses[known["open"]] == ClaimStatus.REVIEW
    assert all(_media_file(bot, p).exists() for p in known["invoice"].values())


async def test_deleteme_erases_personal_data_keeps_anonymised_claims_and_tells_staff(bot: BotHarness) -> None:
    alice, known = await _alice_with_history(bot)
    before = await _member(bot, 1001)
    # Bob's product happens to use the very same invoice file as Alice's approved product.
    shared = known["invoice"][known["approved_product"]]
    async with unit_of_work(bot.sessions) as s:
        bob_product = await s.get(RegisteredProduct, known["bob_product"])
        assert bob_product is not None
        own_bob_invoice, bob_product.invoice_path = bob_product.invoice_path, shared
        s.add(
            ImageFingerprint(
                sha256="0" * 64,
                phash=1,
                band0=1,
                band1=0,
                band2=0,
                band3=0,
                member_id=before.id,
                kind="invoice",
                registered_product_id=known["approved_product"],
                path=shared,
                created_at=bot.clock.now(),
            )
        )

    await alice.send("/deleteme")
    question = await alice.expect("Delete all your data?")
    await alice.press("🗑 Yes, delete everything")
    done = await alice.expect("Your data is deleted", known["approved"], known["open"], "/start")
    assert done.text and bot.emulator.reply_keyboard(alice.chat_id) is None  # the members' menu is gone

    async with unit_of_work(bot.sessions) as s:
        member = await s.get(Member, before.id)
        assert member is not None
        assert member.telegram_user_id == member.chat_id == -before.id
        assert (member.email, member.first_name, member.last_name, member.phone, member.username) == (
            None,
            None,
            None,
            None,
            None,
        )
        assert member.deleted_at == bot.clock.now() and member.country == "SG"
        rows = {c.order_id: c for c in (await s.scalars(select(Claim))).all()}
        approved, withdrawn = rows[known["approved"]], rows[known["open"]]
        assert approved.status == ClaimStatus.APPROVED and approved.member_id == before.id
        # Withdrawn by the customer: recorded as a reason code, read in each reader's own language.
        assert (
            withdrawn.status == ClaimStatus.REJECTED
            and withdrawn.reason is None
            and withdrawn.reason_code == privacy.WITHDRAWN_CODE == "withdrawn"
        )
        assert Translator().t("en", privacy.WITHDRAWN_REASON_KEY) == "withdrawn by the customer"
        assert Translator().t("zh-Hant", privacy.WITHDRAWN_REASON_KEY) == "已由顧客撤回"
        for claim in (approved, withdrawn):
            assert claim.shipping_address is None and claim.email == privacy.email_token("alice@example.com")
        assert await s.scalar(select(ActivationCode.code).where(ActivationCode.claim_id == approved.id)) == CODE
        products = {p.serial: p for p in (await s.scalars(select(RegisteredProduct))).all()}
        assert UNCLAIMED_SERIAL not in products  # never redeemed: gone, so it can be registered again
        assert products[APPROVED_SERIAL].invoice_path is None and products[OPEN_SERIAL].invoice_path is None
        assert products[APPROVED_SERIAL].member_id == before.id  # the serial stays registered once
        assert products[BOB_SERIAL].invoice_path == shared
        items = (await s.scalars(select(ClaimItem).where(ClaimItem.claim_id.in_([approved.id, withdrawn.id])))).all()
        assert [i.sn_photo_path for i in items] == [None, None]
        fingerprint = await s.scalar(select(ImageFingerprint).where(ImageFingerprint.member_id == before.id))
        assert fingerprint is not None and fingerprint.path is None and fingerprint.sha256 == "0" * 64
        assert await s.get(ConversationState, 1001) is None
        assert await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.chat_id == 1001)) == 0
        actors = set(
            (await s.scalars(select(ClaimEvent.actor_user_id).where(ClaimEvent.claim_id == approved.id))).all()
        )
        assert 1001 not in actors and -before.id in actors
        erased = await s.scalar(select(AuditEntry).where(AuditEntry.action == "member.erased"))
        assert (
            erased is not None
            and erased.subject == f"member:{before.id}"
            and sorted(erased.details["order_ids"]) == sorted([known["approved"], known["open"]])
        )
        assert await s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.actor_user_id == 1001)) == 0

    # Files: Alice's are gone, the one Bob's product uses too stays.
    assert _media_file(bot, shared).exists()
    for path in (
        known["invoice"][known["open_product"]],
        known["invoice"][known["unclaimed"]],
        known["sn"][known["approved_product"]],
        known["sn"][known["open_product"]],
    ):
        assert not _media_file(bot, path).exists()
    assert _media_file(bot, known["sn"][known["bob_product"]]).exists() and _media_file(bot, own_bob_invoice).exists()

    # Staff hear of it through the outbox: order ids, no personal data.
    await bot.runtime.tick()
    notices = [
        m.get("text", "") for m in bot.emulator.messages(STAFF_CHAT_ID) if "deleted their data" in m.get("text", "")
    ]
    assert len(notices) == 1 and known["approved"] in notices[0] and known["open"] in notices[0]
    assert "alice@example.com" not in notices[0] and "Alice" not in notices[0]

    # Staff looking the withdrawn claim up read why, in their language (the claim keeps a code only).
    sam = Person(bot.emulator, STAFF_ID, "Sam")
    await sam.send(f"/find {known['open']}")
    assert "withdrawn by the customer" in (await sam.expect(known["open"])).text

    # The old confirmation is refused, and Alice can start again as a new member.
    await alice.press("🗑 Yes, delete everything", on=question)
    assert "earlier message" in await alice.next_toast()
    await alice.send("/start")
    await alice.expect("Welcome, Alice")
    await alice.expect("Privacy policy")
    await alice.press("✅ I agree")
    await alice.expect("e-mail")
    fresh = await _member(bot, 1001)
    assert fresh.id != before.id and fresh.email is None and fresh.deleted_at is None
    await alice.send("/cancel")
    await alice.next_reply()
    await alice.send("/mydata")
    _, raw = _download(bot, await alice.expect("Your data", "no photos"))
    data = json.loads(raw)
    assert data["claims"] == [] and data["products"] == []


async def test_deleteme_frees_the_email_and_the_person_can_redeem_again_as_new(bot: BotHarness) -> None:
    """A new profile may reuse the address; the old claims no longer carry it."""
    alice, _ = await _alice_with_history(bot)
    await alice.send("/deleteme")
    await alice.expect("Delete all your data?")
    await alice.press("🗑 Yes, delete everything")
    await alice.expect("Your data is deleted")
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(func.count()).select_from(Member).where(Member.email == "alice@example.com")) == 0
        assert await s.scalar(select(func.count()).select_from(Claim).where(Claim.email == "alice@example.com")) == 0
