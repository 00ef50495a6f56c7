"""A near-duplicate invoice from a second account is flagged on the staff card (end to end)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.conftest import BotHarness
from tests.factories import customer, invoice_jpeg
from tests.test_redeem import _redeem_until_confirm
from tests.test_register import register_product
from tests.test_staff_review import next_card, sam_in_group

pytestmark = pytest.mark.quiet_staff_chat


def _near_copy(jpeg: bytes) -> bytes:
    """What a second account would send: the same invoice resized, cropped a little, re-encoded."""
    image = Image.open(io.BytesIO(jpeg))
    width, height = image.size
    image = image.crop((0, 0, int(width * 0.98), int(height * 0.98))).resize((int(width * 0.7), int(height * 0.7)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


async def test_near_duplicate_invoice_from_another_account_is_flagged(bot: BotHarness) -> None:
    invoice = invoice_jpeg(text="INVOICE INV-2026-0042 PRO MP241 Courts 2026-03-03")
    alice = await customer(bot, 1001, "Alice")
    await register_product(alice, "BA9H040230046", "318", invoice, "INV-2026-0042")
    await _redeem_until_confirm(alice)
    await alice.press("✅ Redeem")
    first = (await alice.expect("Order ID")).text.split("Order ID: ")[1].split()[0]
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    assert "Risk: low" in (await next_card(sam)).text

    bob = await customer(bot, 1002, "Bob")
    await register_product(bob, "BA9H616425247", "509", _near_copy(invoice), "INV-7781")
    await _redeem_until_confirm(bob, serial="BA9H616425247")
    await bob.press("✅ Redeem")
    await bob.expect("Order ID")

    await bot.runtime.tick()
    bob_card = await next_card(sam)
    assert "Risk: review" in bob_card.text
    assert f"near copy of the invoice photo was already used (order {first}" in bob_card.text
