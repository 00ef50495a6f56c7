"""Registering a product through the chat, as a customer would (issue: customer journey 1)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.db import unit_of_work
from storage.models import ConversationState, RegisteredProduct, SerialAttempt
from tests.conftest import BotHarness
from tests.factories import confirm_email, customer, invoice_jpeg
from tests.harness import Person, Reply
from tests.test_profile import state_of

SERIAL, CHK = "BA9H040230046", "318"


async def _count(bot: BotHarness, model: type, **where: object) -> int:  # type: ignore[type-arg]
    async with unit_of_work(bot.sessions) as s:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(await s.scalar(query) or 0)


async def _to_serial(alice: Person) -> None:
    await alice.send("/register")
    await alice.expect("Which kind of product")
    await alice.press("Monitor")
    reply = await alice.expect("serial number")
    assert reply.has_photo  # the picture of where to find the S/N


async def _to_region(alice: Person, serial: str = SERIAL, chk: str = CHK) -> None:
    await _to_serial(alice)
    await alice.send(serial)
    await alice.expect("PRO MP241", "9S6-3PA2CT-038", serial)
    await alice.press("✅ Yes, that's mine")
    await alice.expect("CHK")
    await alice.send(chk)
    await alice.expect("where did you buy it")


async def _to_invoice(alice: Person, serial: str = SERIAL, chk: str = CHK) -> None:
    await _to_region(alice, serial, chk)
    await alice.press("Singapore")
    await alice.expect("Choose the store in Singapore")
    await alice.press("Courts")
    await alice.expect("When did you buy it")
    await alice.send("03/03/2026")
    await alice.expect("where did you purchase")
    await alice.press("Online retailer")
    await alice.expect("invoice", "model name", "invoice number")


async def _to_summary(
    alice: Person, serial: str = SERIAL, chk: str = CHK, invoice: bytes | None = None, number: str = "INV-1"
) -> Reply:
    """Through every step up to the summary; returns it."""
    await _to_invoice(alice, serial, chk)
    await alice.send_photo(invoice or invoice_jpeg())
    await alice.expect("invoice number")
    await alice.send(number)
    return await alice.expect("Please check")


async def register_product(
    alice: Person, serial: str = SERIAL, chk: str = CHK, invoice: bytes | None = None, number: str = "INV-1"
) -> None:
    """The whole registration journey, confirmed."""
    await _to_summary(alice, serial, chk, invoice, number)
    await alice.press("✅ Confirm")
    await alice.expect("is registered")


async def test_full_registration(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    summary = await _to_summary(alice, number="inv-2026-0042")
    for fact in (
        "Please check your registration",
        "INV-2026-0042",
        "PRO MP241",
        SERIAL,
        "Courts",
        "Online retailer",
        "Singapore",
    ):
        assert fact in summary.text, fact
    assert summary.has_photo
    await alice.press("✅ Confirm")
    await alice.expect("is registered", SERIAL)
    async with unit_of_work(bot.sessions) as s:
        product = await s.scalar(select(RegisteredProduct).where(RegisteredProduct.serial == SERIAL))
        assert product is not None
        assert (product.store_name, product.channel, product.purchase_country, str(product.purchase_date)) == (
            "Courts",
            "online",
            "SG",
            "2026-03-03",
        )
        assert product.invoice_number == "INV-2026-0042"
        assert product.invoice_path and bot.runtime.services.media.path(product.invoice_path).exists()  # type: ignore[union-attr]
        assert await s.get(ConversationState, 1001) is None


async def test_serial_is_normalized_and_corrections_are_told(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_serial(alice)
    await alice.send("ba9h O4O23OO46")
    await alice.expect("corrected", "BA9H040230046")
    await alice.expect("Is this your product", "PRO MP241")


async def test_unknown_serial_gets_a_retry(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_serial(alice)
    await alice.send("ZZ0000000000")
    await alice.expect("can't find the serial number")
    await alice.send(SERIAL)  # the same step takes a second try
    await alice.expect("Is this your product")


async def test_wrong_chk_then_lockout(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_serial(alice)
    await alice.send(SERIAL)
    await alice.expect("Is this your product")
    await alice.press("✅ Yes, that's mine")
    await alice.expect("CHK")
    for left in ("4 tries", "3 tries", "2 tries", "one try"):  # the plural form follows the count
        await alice.send("000")
        await alice.expect(f"({left} left)")
    await alice.send("000")
    await alice.expect("locked", "60 minutes")  # the lock-out's length, as storage/registration.py holds it
    assert await state_of(bot, 1001) is None  # the journey ended
    # Locked even with the right code, until an hour has passed.
    await _to_serial(alice)
    await alice.send(SERIAL)
    await alice.expect("Is this your product")
    await alice.press("✅ Yes, that's mine")
    await alice.expect("CHK")
    await alice.send(CHK)
    await alice.expect("locked")
    bot.clock.advance(timedelta(minutes=61))
    await _to_region(alice)
    assert await _count(bot, SerialAttempt, kind="wrong_chk") == 5


async def test_serial_of_another_account_is_refused_and_logged(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await register_product(alice)

    bob = await customer(bot, 1002, "Bob")
    await _to_serial(bob)
    await bob.send(SERIAL)
    await bob.expect("already registered to another account")
    assert await _count(bot, SerialAttempt, kind="duplicate") == 1
    assert await _count(bot, RegisteredProduct) == 1

    await _to_serial(alice)
    await alice.send(SERIAL)
    await alice.expect("You have already registered")


async def test_bad_dates_are_refused(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_region(alice)
    await alice.press("Singapore")
    await alice.expect("Choose the store")
    await alice.press("Courts")
    await alice.expect("When did you buy it")
    await alice.send("2027-01-01")
    await alice.expect("is in the future")
    await alice.send("2019-01-01")
    await alice.expect("before the PRO MP241 went on sale")
    await alice.send("next tuesday")
    await alice.expect("couldn't read that date")
    await alice.press("Yesterday")
    await alice.expect("where did you purchase")
    async with unit_of_work(bot.sessions) as s:
        state = await s.get(ConversationState, 1001)
        assert state is not None and state.data["purchase_date"] == str((bot.clock.now() - timedelta(days=1)).date())


async def test_calendar_picker(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_region(alice)
    await alice.press("Singapore")
    await alice.expect("Choose the store")
    await alice.press("Courts")
    await alice.expect("When did you buy it")
    await alice.press("📅 Pick a date")
    await alice.expect("Choose the day of purchase")
    await alice.press("◀")
    await alice.expect("February 2026")
    await alice.press("14")
    await alice.expect("where did you purchase")


async def test_bad_invoice_inputs_change_nothing(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_invoice(alice)
    await alice.send("here is my invoice")
    await alice.expect("Please send a photo")
    await alice.expect("invoice number")  # and the question is asked again
    await alice.send_document(b"%PDF-1.4 not an image", "invoice.pdf", "application/pdf")
    await alice.expect("not an image")
    await alice.send_photo(invoice_jpeg()[:2000])
    await alice.expect("damaged")
    await alice.send_photo(invoice_jpeg(120, 90))
    await alice.expect("too small")
    async with unit_of_work(bot.sessions) as s:
        state = await s.get(ConversationState, 1001)
        assert state is not None and state.step == "invoice" and "invoice_path" not in state.data
    assert await _count(bot, RegisteredProduct) == 0


async def test_stale_button_and_command_mid_step(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_serial(alice)
    await alice.send("/products")
    await alice.expect("in the middle of something")
    await alice.expect("serial number")  # the question is asked again
    await alice.press("Laptop")  # the category keyboard from earlier
    assert "earlier message" in await alice.next_toast()
    async with unit_of_work(bot.sessions) as s:
        state = await s.get(ConversationState, 1001)
        assert state is not None and state.step == "serial" and state.data["category"] == "monitor"


async def test_back_and_cancel(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_serial(alice)
    await alice.press("⬅️ Back")
    await alice.expect("Which kind of product")
    await alice.press("✖️ Cancel")
    await alice.expect("Stopped")
    async with unit_of_work(bot.sessions) as s:
        assert await s.get(ConversationState, 1001) is None


async def test_resume_after_restart(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_region(alice)
    await bot.restart()
    await alice.press("Singapore")  # the button of the message sent before the restart still works
    await alice.expect("Choose the store in Singapore")


async def test_edit_from_summary(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_summary(alice)
    await alice.press("✏️ Channel")
    await alice.expect("where did you purchase")
    await alice.press("Reseller")
    await alice.expect("Please check", "Reseller")


async def test_reminder_after_idle_and_continue(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_region(alice)
    await bot.runtime.tick()
    bot.clock.advance(timedelta(hours=23))
    await bot.runtime.tick()  # not yet: the default delay is 24 h
    bot.clock.advance(timedelta(hours=2))
    await bot.runtime.tick()
    await alice.expect("didn't finish")
    await bot.runtime.tick()  # one reminder only
    await alice.press("▶️ Continue")
    await alice.expect("where did you buy it")
    async with unit_of_work(bot.sessions) as s:
        from storage.models import OutboxMessage

        assert (
            await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "reminder")) == 1
        )


async def test_new_user_registers_a_product_from_scratch(bot: BotHarness) -> None:
    """/register by someone we have never seen: the profile comes first, then the product."""
    carol = bot.person(1003, "Carol")
    await carol.send("/register")
    await carol.expect("Welcome, Carol!")
    await carol.expect("privacy policy")
    await carol.press("✅ I agree")
    await carol.expect("e-mail")
    await confirm_email(carol, "carol@example.com")
    await carol.send("Carol")
    await carol.expect("last name")
    await carol.send("Lim")
    await carol.expect("Where do you live?")
    await carol.press("Singapore")
    await carol.expect("Contact number")
    await carol.expect("share the number")
    await carol.share_contact("+6591234567")
    await carol.expect("+65")
    await carol.expect("newsletter")
    await carol.press("No, thanks")
    await carol.expect("Your profile is saved")
    # …and straight on to what they asked for.
    await carol.expect("Which kind of product")
    await carol.press("Monitor")
    await carol.expect("serial number")
    await carol.send(SERIAL)
    await carol.expect("Is this your product")
    await carol.press("✅ Yes, that's mine")
    await carol.expect("CHK")
    await carol.send(CHK)
    await carol.expect("where did you buy it")
    await carol.press("Singapore")
    await carol.expect("Choose the store")
    await carol.send("Funan Digital Mall")
    await carol.expect("When did you buy it")
    await carol.press("Today")
    await carol.expect("where did you purchase")
    await carol.press("Retail store")
    await carol.expect("invoice")
    await carol.send_document(invoice_jpeg(), "invoice.jpg", "image/jpeg")
    await carol.expect("invoice number")
    await carol.send("F-77812")
    await carol.expect("Please check", "Funan Digital Mall")
    await carol.press("✅ Confirm")
    await carol.expect("is registered")
    async with unit_of_work(bot.sessions) as s:
        product = await s.scalar(select(RegisteredProduct).where(RegisteredProduct.serial == SERIAL))
        assert product is not None and product.store_name == "Funan Digital Mall" and product.channel == "retail"


async def test_serial_read_from_a_label_photo(bot: BotHarness) -> None:
    """A photo of the S/N sticker instead of typing: the barcode fills in the serial, the customer confirms."""
    from tests.test_barcodes import encode, label, photo, turned

    alice = await customer(bot, 1001, "Alice")
    await _to_serial(alice)
    await alice.send_photo(encode(turned(photo(label(SERIAL)), 90), "JPEG", quality=90))
    await alice.expect("I read", SERIAL)
    await alice.expect("Is this your product", "PRO MP241")
    await alice.press("✅ Yes, that's mine")
    await alice.expect("CHK")


async def test_label_photo_without_barcode_asks_to_type(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_serial(alice)
    await alice.send_photo(invoice_jpeg())
    await alice.expect("couldn't read a serial number")
    async with unit_of_work(bot.sessions) as s:
        state = await s.get(ConversationState, 1001)
        assert state is not None and state.step == "serial"
