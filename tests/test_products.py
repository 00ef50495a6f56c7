"""My products: the list with warranty against the clock, details with the invoice, replacing it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select

from storage import products
from storage.db import unit_of_work
from storage.media import thumbnail
from storage.models import AuditEntry, CatalogueProduct, ConversationState, RegisteredProduct
from tests.conftest import BotHarness
from tests.factories import new_member
from tests.harness import Person

MP241 = "9S6-3PA2CT-038"  # PRO MP241, monitor, 36 months — in the demo promotion
MP242 = "9S6-3PB1CH-005"  # PRO MP242, monitor, 36 months — in the demo promotion
G27C4 = "9S6-3CA91T-003"  # Optix G27C4, monitor — not in the demo promotion
PRESTIGE = "9S7-14Q111-027"  # Prestige 14 AI Evo C1MG, laptop, 24 months


def picture(text: str = "INVOICE INV-2026-0042", size: tuple[int, int] = (900, 700), fmt: str = "JPEG") -> bytes:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((40, 40), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@dataclass
class Owned:
    model: str
    serial: str
    purchase_date: date
    invoice: bytes | None = None
    purchase_country: str = "SG"
    store: str = "Challenger"
    channel: str = "retail"


async def member_with_products(
    bot: BotHarness, user_id: int, *products: Owned, language: str = "en", country: str | None = "SG"
) -> tuple[int, list[int]]:
    """A member with a finished profile and the given registered products (invoices stored)."""
    assert bot.runtime.services is not None
    media = bot.runtime.services.media
    moment = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    async with unit_of_work(bot.sessions) as session:
        member = new_member(user_id, language=language, country=country, now=moment)
        session.add(member)
        await session.flush()
        ids = []
        for owned in products:
            catalogue_id = await session.scalar(
                select(CatalogueProduct.id).where(CatalogueProduct.model == owned.model)
            )
            assert catalogue_id is not None, owned.model
            stored = media.save(owned.invoice) if owned.invoice is not None else None
            row = RegisteredProduct(
                member_id=member.id,
                catalogue_product_id=catalogue_id,
                serial=owned.serial,
                purchase_country=owned.purchase_country,
                store_name=owned.store,
                purchase_date=owned.purchase_date,
                channel=owned.channel,
                invoice_path=stored.relative_path if stored else None,
                invoice_sha256=stored.sha256 if stored else None,
                registered_at=moment,
            )
            session.add(row)
            await session.flush()
            ids.append(row.id)
        return member.id, ids


async def product_row(bot: BotHarness, product_id: int) -> RegisteredProduct:
    async with unit_of_work(bot.sessions) as session:
        row = await session.get(RegisteredProduct, product_id)
        assert row is not None
        return row


async def journey_of(bot: BotHarness, user_id: int) -> str | None:
    async with unit_of_work(bot.sessions) as session:
        state = await session.get(ConversationState, user_id)
        return state.flow if state is not None else None


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


async def test_list_shows_warranty_against_the_clock_and_invoice_status(bot: BotHarness) -> None:
    # Bought 2023-03-15 with 36 months: covered up to 2026-03-14; the fake clock starts 2026-03-10.
    await member_with_products(
        bot,
        1001,
        Owned(MP241, "BA9H040230046", date(2023, 3, 15), invoice=picture()),
        Owned(PRESTIGE, "K2415N8813998", date(2026, 2, 20)),
    )
    alice = bot.person(1001, "Alice")
    await alice.send("/products")
    reply = await alice.next_reply()
    shown = lines(reply.text)
    assert "Your registered products (2)" in shown[0]
    assert "1. Prestige 14 AI Evo C1MG — Laptop" in shown  # newest purchase first
    assert "2. PRO MP241 — Monitor" in shown
    assert "S/N: BA9H040230046" in shown
    assert "Purchased: Mar 15, 2023" in shown
    assert "Warranty: 36 months, until Mar 14, 2026 — ✅ in warranty" in shown
    assert "Warranty: 24 months, until Feb 19, 2028 — ✅ in warranty" in shown
    assert "Invoice: ✅ uploaded" in shown
    assert "Invoice: ⚠️ missing — open the product to upload it" in shown
    assert reply.buttons == ["Prestige 14 AI Evo C1MG · K2415N8813998", "PRO MP241 · BA9H040230046"]

    bot.clock.advance(timedelta(days=5))  # 2026-03-15: the monitor's last covered day has passed
    await alice.send("📦 My products")  # the menu button does the same
    reply = await alice.next_reply()
    assert "Warranty: 36 months, until Mar 14, 2026 — ⛔ expired" in lines(reply.text)
    assert "Warranty: 24 months, until Feb 19, 2028 — ✅ in warranty" in lines(reply.text)


async def test_no_products(bot: BotHarness) -> None:
    await member_with_products(bot, 1002)
    bob = bot.person(1002, "Bob")
    await bob.send("/products")
    reply = await bob.next_reply()
    assert "You have no registered products yet" in reply.text and "/register" in reply.text
    assert bot.emulator.reply_keyboard(1002), "the main menu is shown"


async def test_a_long_list_is_split_under_telegrams_limits(bot: BotHarness) -> None:
    many = [Owned(MP241, f"BA9H9{n:08d}", date(2026, 1, 1) + timedelta(days=n)) for n in range(60)]
    await member_with_products(bot, 1008, *many)
    gina = bot.person(1008, "Gina")
    await gina.send("/products")
    pages = [await gina.next_reply()]
    while sum(len(page.buttons) for page in pages) < 60:
        pages.append(await gina.next_reply())
    assert all(len(page.text) <= 4096 and len(page.buttons) <= 100 for page in pages)
    assert "Your registered products (60)" in pages[0].text
    assert "60. PRO MP241 — Monitor" in pages[-1].text and "Tap a product below" in pages[-1].text
    first = pages[0]
    assert first.buttons[0] == "PRO MP241 · BA9H900000059"  # newest purchase first


async def test_details_with_invoice_then_replace_it(bot: BotHarness) -> None:
    original = picture("ORIGINAL INVOICE")
    _, (product_id,) = await member_with_products(
        bot, 1003, Owned(MP241, "BA9H040230046", date(2026, 2, 10), invoice=original, store="Courts", channel="online")
    )
    before = await product_row(bot, product_id)
    carol = bot.person(1003, "Carol")
    await carol.send("/products")
    await carol.next_reply()

    await carol.press("PRO MP241 · BA9H040230046")
    details = await carol.next_reply()
    assert details.has_photo
    sent = bot.emulator.file_bytes(details.message["photo"][-1]["file_id"])
    assert sent == thumbnail(bot.runtime.services.media.read(before.invoice_path), 1280)  # type: ignore[union-attr,arg-type]
    shown = lines(details.text)
    for line in (
        "PRO MP241 — Monitor",
        "Model: 9S6-3PA2CT-038",
        "S/N: BA9H040230046",
        "Purchased: Feb 10, 2026",
        "Store: Courts, Singapore",
        "Where purchased: Online retailer",
        "Warranty: 36 months, until Feb 9, 2029 — ✅ in warranty",
        "Registered on: Mar 1, 2026",
        "Invoice: ✅ uploaded",
    ):
        assert line in shown, line
    assert details.buttons == ["🧾 Replace invoice"]

    await carol.press("🧾 Replace invoice")
    ask = await carol.expect("New invoice for PRO MP241 (BA9H040230046)")
    assert ask.buttons == ["✖️ Cancel"]

    # Text instead of a photo: told what is expected, asked again, nothing changes.
    await carol.send("here it is")
    await carol.expect("Please send a photo")
    await carol.expect("New invoice for PRO MP241")
    assert (await product_row(bot, product_id)).invoice_path == before.invoice_path

    # A broken image: its own message, still waiting for the photo, nothing changes.
    broken = picture("BROKEN")
    await carol.send_photo(broken[: len(broken) // 2])
    await carol.expect("I couldn't open that image")
    assert (await product_row(bot, product_id)).invoice_path == before.invoice_path
    assert await journey_of(bot, 1003) == "replace_invoice"

    # A document that is not an image, whatever its MIME type says.
    await carol.send_document(b"%PDF-1.4 not really an image" * 20, "invoice.jpg", "image/jpeg")
    await carol.expect("That file is not an image")
    assert (await product_row(bot, product_id)).invoice_path == before.invoice_path

    # A valid photo: stored, the product points at it, the journey is over.
    await carol.send_photo(picture("NEW INVOICE 2026-0099"))
    await carol.expect("The new invoice for PRO MP241 (BA9H040230046) is saved")
    after = await product_row(bot, product_id)
    assert after.invoice_path and after.invoice_path != before.invoice_path
    assert after.invoice_sha256 and after.invoice_sha256 != before.invoice_sha256
    assert bot.runtime.services.media.path(after.invoice_path).exists()  # type: ignore[union-attr]
    assert await journey_of(bot, 1003) is None
    async with unit_of_work(bot.sessions) as session:
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "invoice_replaced"))).one()
    assert audit.subject == f"registered_product:{product_id}" and audit.details["old_path"] == before.invoice_path


async def test_a_long_receipt_is_shown_as_a_valid_photo(bot: BotHarness) -> None:
    # Stored as is (1000 px wide), but 1000 + 9500 px is more than sendPhoto accepts.
    await member_with_products(
        bot, 1009, Owned(MP241, "BA9H040230046", date(2026, 2, 10), invoice=picture("LONG RECEIPT", size=(1000, 9500)))
    )
    hank = bot.person(1009, "Hank")
    await hank.send("/products")
    await hank.next_reply()
    await hank.press("PRO MP241 · BA9H040230046")
    details = await hank.next_reply()
    assert (
        details.has_photo and max(details.message["photo"][-1]["width"], details.message["photo"][-1]["height"]) <= 1280
    )


async def test_replace_is_refused_in_the_middle_of_another_journey(bot: BotHarness) -> None:
    _, (product_id,) = await member_with_products(
        bot, 1010, Owned(MP241, "BA9H040230046", date(2026, 2, 10), invoice=picture())
    )
    ivy = bot.person(1010, "Ivy")
    await ivy.send("/products")
    await ivy.next_reply()
    await ivy.press("PRO MP241 · BA9H040230046")
    await ivy.next_reply()
    async with unit_of_work(bot.sessions) as session:  # as if a registration had been started meanwhile
        session.add(
            ConversationState(
                user_id=1010, chat_id=1010, flow="register", step="category", data={"_v": 3}, updated_at=bot.clock.now()
            )
        )
    await ivy.press("🧾 Replace invoice")
    assert "in the middle of something else" in await ivy.next_toast()
    assert await journey_of(bot, 1010) == "register"


async def test_upload_a_missing_invoice_as_an_image_file(bot: BotHarness) -> None:
    _, (product_id,) = await member_with_products(bot, 1004, Owned(PRESTIGE, "K2415N8813998", date(2026, 2, 20)))
    dave = bot.person(1004, "Dave")
    await dave.send("/products")
    await dave.next_reply()
    await dave.press("Prestige 14 AI Evo C1MG · K2415N8813998")
    details = await dave.next_reply()
    assert not details.has_photo and "Invoice: ⚠️ missing" in details.text
    await dave.press("🧾 Upload invoice")
    await dave.expect("New invoice for Prestige 14 AI Evo C1MG")
    await dave.send_document(picture("PNG INVOICE", fmt="PNG"), "invoice.png", "image/png")
    await dave.expect("is saved")
    assert (await product_row(bot, product_id)).invoice_path


async def test_without_a_profile_the_profile_journey_comes_first(bot: BotHarness) -> None:
    stranger = bot.person(1011, "Stranger")
    await stranger.send("/products")
    reply = await stranger.next_reply()
    assert "no registered products" not in reply.text
    assert await journey_of(bot, 1011) == "profile"


async def test_a_product_is_only_found_for_its_owner(bot: BotHarness) -> None:
    """Buttons carry ids; the service checks ownership, so a forged id finds nothing."""
    _, (product_id,) = await member_with_products(
        bot, 1005, Owned(MP241, "BA9H040230046", date(2026, 2, 10), invoice=picture())
    )
    eve_id, _ = await member_with_products(bot, 1006)
    async with unit_of_work(bot.sessions) as session:
        assert await products.of_member(session, eve_id, product_id) is None
        assert (
            await products.replace_invoice(
                session,
                member_id=eve_id,
                product_id=product_id,
                invoice_path="x/y/z.jpg",
                invoice_sha256="0" * 64,
                now=bot.clock.now(),
                actor_user_id=1006,
            )
            is None
        )
    assert (await product_row(bot, product_id)).invoice_path != "x/y/z.jpg"


def test_warranty_ends_the_day_before_the_anniversary() -> None:
    assert products.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert products.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert products.add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    item = RegisteredProduct(purchase_date=date(2026, 3, 3), catalogue_product=CatalogueProduct(warranty_months=36))
    assert products.warranty(item, date(2029, 3, 2)) == products.Warranty(36, date(2029, 3, 2), True)
    assert not products.warranty(item, date(2029, 3, 3)).active


async def test_traditional_chinese(bot: BotHarness) -> None:
    await member_with_products(bot, 1007, Owned(PRESTIGE, "K2415N8813998", date(2026, 2, 20)), language="zh-Hant")
    frank: Person = bot.person(1007, "Frank", language_code="zh-TW")
    await frank.send("/products")
    reply = await frank.next_reply()
    shown = lines(reply.text)
    assert "1. Prestige 14 AI Evo C1MG — 筆記型電腦" in shown
    assert "購買日期：2026年2月20日" in shown
    assert "保固：24 個月，至 2028年2月19日 — ✅ 保固中" in shown
    assert "發票：⚠️ 尚未上傳 — 開啟產品即可上傳" in shown
