"""The journey engine through the bot: states saved by the dict-based journeys, stale buttons,
and the storage rules where the customer sees them."""

from __future__ import annotations

from sqlalchemy import select

from conversations.redeem_state import RedeemAnswers
from storage import conversations
from storage.db import unit_of_work
from storage.models import CatalogueSerial, RegisteredProduct
from tests.conftest import BotHarness
from tests.factories import customer, invoice_jpeg
from tests.harness import Person
from tests.test_profile import state_of

SERIAL = "BA9H040230046"


async def _save_state(bot: BotHarness, user_id: int, flow: str, step: str, data: dict[str, object]) -> None:
    async with unit_of_work(bot.sessions) as s:
        await conversations.save(
            s, user_id=user_id, chat_id=user_id, flow=flow, step=step, data=data, now=bot.clock.now()
        )


async def _catalogue_id(bot: BotHarness) -> int:
    async with unit_of_work(bot.sessions) as s:
        found = await s.scalar(select(CatalogueSerial.product_id).where(CatalogueSerial.serial == SERIAL))
        assert found is not None
        return int(found)


async def test_registration_saved_by_the_old_code_goes_on(bot: BotHarness) -> None:
    """A customer mid-registration when the new version starts: the old dict loads as answers."""
    alice: Person = await customer(bot, 1001, "Alice")
    old = {
        "category": "monitor",
        "serial": SERIAL,
        "product_id": await _catalogue_id(bot),
        "chk_listed": True,
        "country": "SG",
        "store": "Courts",
        "_v": "abc123",
        "_path": ["category", "serial", "confirm_product", "chk", "region", "store", "date"],
    }
    await _save_state(bot, 1001, "register", "date", old)
    await alice.send("03/03/2026")
    await alice.expect("where did you purchase")
    await alice.press("Online retailer")
    await alice.expect("invoice", "model name")
    await alice.send_photo(invoice_jpeg())
    await alice.expect("invoice number")
    await alice.send(" inv-7  x ")
    summary = await alice.expect("Courts", "INV-7 X")
    await alice.press("✅ Confirm", on=summary)
    await alice.expect("registered")
    async with unit_of_work(bot.sessions) as s:
        product = await s.scalar(select(RegisteredProduct).where(RegisteredProduct.serial == SERIAL))
        assert product is not None and product.invoice_number == "INV-7 X" and product.store_name == "Courts"


def test_redeem_photos_saved_as_lists_load_as_models() -> None:
    """The old redeem journey kept each photo as [path, sha256, phash, labels]."""
    answers = RedeemAnswers.model_validate(
        {"promotion_id": 3, "selected": [7], "photos": {"7": ["ab/cd.jpg", "f00", 12, ["S1"]]}}
    )
    photo = answers.photos[7]
    assert (photo.path, photo.sha256, photo.phash, photo.labels) == ("ab/cd.jpg", "f00", 12, ["S1"])
    assert answers.model_dump(mode="json")["photos"] == {
        "7": {"path": "ab/cd.jpg", "sha256": "f00", "phash": 12, "labels": ["S1"]}
    }


async def test_a_state_that_no_longer_fits_restarts_politely(bot: BotHarness) -> None:
    alice = await customer(bot, 1002, "Alice")
    await _save_state(bot, 1002, "register", "date", {"product_id": "not a number", "_v": "abc123", "_path": ["date"]})
    await alice.send("03/03/2026")
    await alice.expect("could not continue where you were")
    assert await state_of(bot, 1002) is None
    await _save_state(bot, 1002, "register", "a_step_that_was_removed", {"_v": "abc123"})
    await alice.send("/register")  # a command still runs after the apology
    await alice.expect("could not continue where you were")
    await alice.expect("Which kind of product")


async def test_a_button_of_an_older_step_is_answered_by_the_engine(bot: BotHarness) -> None:
    alice = await customer(bot, 1003, "Alice")
    await alice.send("/register")
    categories = await alice.expect("Which kind of product")
    await alice.press("Monitor", on=categories)
    await alice.expect("serial number")
    before = await state_of(bot, 1003)
    await alice.press("Laptop", on=categories)
    assert "earlier message" in await alice.next_toast()
    assert await state_of(bot, 1003) == before  # nothing changed
