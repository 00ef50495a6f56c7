"""A photo whose download from the Bot API fails is asked for again, and changes nothing.

The emulator spoils the bot's next file download over HTTP (a 500, a 404 as for an expired
file_path, an empty, garbage or cut-short body) or refuses getFile itself; at every step that
takes a photo the customer is asked to send it again, the database and the media directory stay
as they were, and the next good photo goes through.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image
from sqlalchemy import select

from emulator import Emulator
from emulator.faults import DOWNLOAD_FAULT_KINDS
from storage import review
from storage.db import unit_of_work
from storage.models import Claim, ClaimItem, ConversationState, RegisteredProduct
from tests.conftest import STAFF_ID, BotHarness
from tests.factories import add_product, customer, distinct_photo, invoice_jpeg
from tests.harness import Person
from tests.test_register import SERIAL, _to_invoice, _to_serial

SEND_AGAIN = "please send the photo again"
GET_FILE_FAILS = "getFile"  # not a download fault: getFile itself answers 500


async def spoil_next_download(bot: BotHarness, kind: str) -> None:
    """Makes the emulator spoil the next file download (or getFile), through its control API."""
    if kind == GET_FILE_FAILS:
        bot.emulator.fail("getFile", error_code=500, description="Internal Server Error", times=1)
        return
    url = f"http://{bot.emulator.host}:{bot.emulator.port}/_emu/faults/downloads"
    async with aiohttp.ClientSession() as http, http.post(url, json={"kind": kind}) as response:
        assert response.status == 200, await response.text()


async def snapshot(bot: BotHarness, user_id: int) -> dict[str, Any]:
    """What a failed download must not change: the journey's state, the rows photos end up in,
    and the stored files."""
    async with unit_of_work(bot.sessions) as s:
        state = await s.get(ConversationState, user_id)
        products = (
            await s.execute(
                select(RegisteredProduct.id, RegisteredProduct.invoice_path, RegisteredProduct.invoice_sha256).order_by(
                    RegisteredProduct.id
                )
            )
        ).all()
        claims = (await s.execute(select(Claim.id, Claim.status, Claim.attempt).order_by(Claim.id))).all()
        items = (await s.execute(select(ClaimItem.id, ClaimItem.sn_photo_path).order_by(ClaimItem.id))).all()
    media = Path(bot.settings.media_dir)
    return {
        "state": None if state is None else (state.flow, state.step, dict(state.data)),
        "products": [tuple(row) for row in products],
        "claims": [tuple(row) for row in claims],
        "items": [tuple(row) for row in items],
        "files": sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()) if media.exists() else [],
    }


async def every_failure_changes_nothing(
    bot: BotHarness, person: Person, photo: bytes, *, as_file: str | None = None
) -> None:
    """Each kind of failed download in turn: asked to send again, nothing changed. `as_file`
    names a PNG sent as a document (an image file) instead of a photo."""
    before = await snapshot(bot, person.user_id)
    assert before["state"] is not None  # the person is in the middle of a photo step
    for kind in (*DOWNLOAD_FAULT_KINDS, GET_FILE_FAILS):
        await spoil_next_download(bot, kind)
        if as_file is None:
            await person.send_photo(photo)
        else:
            await person.send_document(photo, as_file, "image/png")
        reply = await person.next_reply()
        assert SEND_AGAIN in reply.text, f"{kind}: {reply.text}"
        assert await snapshot(bot, person.user_id) == before, kind
    assert not bot.emulator.state.faults.downloads.faults  # each fault was met, none is left over


async def test_register_invoice(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await _to_invoice(alice)
    await every_failure_changes_nothing(bot, alice, invoice_jpeg())
    await every_failure_changes_nothing(bot, alice, png_invoice(), as_file="invoice.png")
    await alice.send_photo(invoice_jpeg())
    await alice.expect("invoice number")
    async with unit_of_work(bot.sessions) as s:
        state = await s.get(ConversationState, 1001)
        assert state is not None and state.step == "invoice_number" and state.data["invoice_path"]
    assert bot.runtime.services is not None and bot.runtime.services.media.path(state.data["invoice_path"]).exists()


def png_invoice() -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(invoice_jpeg())).save(buffer, "PNG")
    return buffer.getvalue()


async def test_register_serial_label_photo(bot: BotHarness) -> None:
    from tests.test_barcodes import encode, label, photo

    alice = await customer(bot, 1001, "Alice")
    await _to_serial(alice)
    sticker = encode(photo(label(SERIAL)), "JPEG", quality=90)
    await every_failure_changes_nothing(bot, alice, sticker)
    await alice.send_photo(sticker)
    await alice.expect("I read", SERIAL)


async def test_the_customer_is_asked_in_their_language(bot: BotHarness) -> None:
    mei = await customer(bot, 1002, "Mei", "zh-Hant", language="zh-Hant")
    await _member_product(bot, 1002)
    translator = bot.runtime.services.translator  # type: ignore[union-attr]
    await mei.send("/products")
    await mei.next_reply()
    await mei.press(f"PRO MP241 · {SERIAL}")
    await mei.next_reply()
    await mei.press(translator.t("zh-Hant", "products.replace_invoice"))
    await mei.next_reply()
    await spoil_next_download(bot, "not_found")
    await mei.send_photo(invoice_jpeg())
    reply = await mei.next_reply()
    assert reply.text == translator.t("zh-Hant", "images.download_failed") and "請再傳送一次照片" in reply.text


async def _at_the_sn_photo(bot: BotHarness) -> Person:
    """Alice owns the eligible monitor and has reached the redeem journey's S/N photo step."""
    alice = await customer(bot, 1001, "Alice")
    await _member_product(bot, 1001)
    await alice.send("/redeem")
    await alice.expect("Tick the products")
    await alice.press(f"▫️ PRO MP241 ({SERIAL})")
    await alice.next_reply()
    await alice.press("➡️ Next")
    await alice.expect("on the product itself")
    return alice


async def test_redeem_sn_photo(bot: BotHarness) -> None:
    alice = await _at_the_sn_photo(bot)
    await every_failure_changes_nothing(bot, alice, distinct_photo("S/N"))
    await alice.send_photo(distinct_photo("S/N"))
    await alice.expect("lucky draw")


async def test_replace_invoice_in_products(bot: BotHarness) -> None:
    carol = await customer(bot, 1003, "Carol")
    product_id = await _member_product(bot, 1003)
    await carol.send("/products")
    await carol.next_reply()
    await carol.press(f"PRO MP241 · {SERIAL}")
    await carol.next_reply()
    await carol.press("🧾 Replace invoice")
    await carol.expect("New invoice for PRO MP241")
    before = await snapshot(bot, 1003)
    await every_failure_changes_nothing(bot, carol, invoice_jpeg(text="NEW INVOICE"))
    await carol.send_photo(invoice_jpeg(text="NEW INVOICE"))
    await carol.expect("is saved")
    async with unit_of_work(bot.sessions) as s:
        product = await s.get(RegisteredProduct, product_id)
        assert (
            product is not None and (product.id, product.invoice_path, product.invoice_sha256) not in before["products"]
        )


async def test_redeem_again_photo(bot: BotHarness) -> None:
    alice = await _at_the_sn_photo(bot)
    await alice.send_photo(distinct_photo("S/N"))
    await alice.expect("lucky draw")
    await alice.press("Yes")
    await alice.next_reply()  # the photos
    await alice.expect("Please check your redemption")
    await alice.press("✅ Redeem")
    await alice.expect("Order ID")
    async with unit_of_work(bot.sessions) as s:
        claim = await s.scalar(select(Claim))
        assert claim is not None
        await review.reject(
            s, claim.order_id, STAFF_ID, "The S/N photo shows the box, not the product.", bot.clock.now()
        )
    await bot.runtime.tick()
    message = await alice.expect("the box, not the product")
    await alice.press(message.buttons[0])
    await alice.expect("Redeem again")
    await alice.expect("Send only what needs fixing")
    await alice.press("📷 New S/N photo — PRO MP241")
    await alice.expect("on the product itself")
    await every_failure_changes_nothing(bot, alice, distinct_photo("S/N again"))
    await alice.send_photo(distinct_photo("S/N again"))
    await alice.expect("Send only what needs fixing")
    async with unit_of_work(bot.sessions) as s:
        state = await s.get(ConversationState, 1001)
        assert state is not None and state.step == "again_menu" and state.data["photos"]


async def _member_product(bot: BotHarness, user_id: int) -> int:
    from storage.models import Member

    async with unit_of_work(bot.sessions) as s:
        member_id = await s.scalar(select(Member.id).where(Member.telegram_user_id == user_id))
    assert member_id is not None
    return await add_product(bot, member_id, SERIAL)


async def test_the_emulator_refuses_an_unknown_download_fault(emulator: Emulator) -> None:
    url = f"http://{emulator.host}:{emulator.port}/_emu/faults/downloads"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"kind": "slow"}) as response:
            assert response.status == 400 and "unknown download fault" in (await response.json())["error"]
        async with http.post(url, json={"kind": "empty", "times": 0}) as response:
            assert response.status == 400
    assert not emulator.state.faults.downloads.faults
