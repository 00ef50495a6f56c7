"""A physical prize from the claim to the doorstep, a lucky-draw winner's address, and the promised
dates of each prize kind (confirmation, /status, the staff digest)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from locales.i18n import format_day
from staff.cards import card_text
from storage import fulfilment, review_queries
from storage.db import unit_of_work
from storage.models import Claim, Fulfilment, FulfilmentState, Member, OutboxMessage
from tests.conftest import ADMIN_ID, STAFF_CHAT_ID, STAFF_ID, BotHarness
from tests.factories import add_product, customer, distinct_photo, set_promotion
from tests.harness import Person
from tests.staff_tools_support import claim as make_claim
from tests.staff_tools_support import open_chat
from tests.test_cashback import run_cli, until
from tests.test_redeem import _member_id
from tests.test_staff_review import ada_in_group, sam_in_group

pytestmark = pytest.mark.quiet_staff_chat

ELIGIBLE = "BA9H040230046"


async def set_phone(bot: BotHarness, user_id: int, phone: str) -> None:
    async with unit_of_work(bot.sessions) as s:
        member = await s.scalar(select(Member).where(Member.telegram_user_id == user_id))
        assert member is not None
        member.phone = phone


async def fulfilment_messages(bot: BotHarness, key: str) -> int:
    async with unit_of_work(bot.sessions) as s:
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "fulfilment"))
        return sum(1 for row in rows if row.payload.get("key") == key)


async def test_physical_prize_prefilled_address_approve_ship_track_deliver(bot: BotHarness, tmp_path: Path) -> None:
    await set_promotion(
        bot, prize_kind="physical", lucky_draw=False, prize_description={"en": "A PRO gaming mouse", "zh-Hant": "滑鼠"}
    )
    alice = await customer(bot, 1001, "Alice")
    await set_phone(bot, 1001, "+6591234567")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    await alice.send("/redeem")
    await alice.expect("Tick the products")
    await alice.press(f"▫️ PRO MP241 ({ELIGIBLE})")
    await alice.next_reply()
    await alice.press("➡️ Next")
    await alice.expect("on the product itself")
    await alice.send_photo(distinct_photo(f"S/N {ELIGIBLE}"))
    # Name, country and phone come from the profile: only the street, city and postcode are asked.
    await alice.expect("come from your profile")
    await alice.expect("Street")
    await alice.send("1 Orchard Road #02-01")
    await alice.expect("City")
    await alice.send("Singapore")
    await alice.expect("Postcode")
    await alice.send("238824")
    await alice.expect("check the shipping address", "Test User1001", "Singapore", "+6591234567")
    await alice.press("✅ Confirm")  # one tap
    await alice.next_reply()
    await alice.expect("Ship to: Test User1001, 1 Orchard Road #02-01, 238824 Singapore, Singapore, +6591234567")
    await alice.press("✅ Redeem")
    await alice.expect("takes 7–14 working days", "delivered within 8–12 weeks")
    async with unit_of_work(bot.sessions) as s:
        order_id = await s.scalar(select(Claim.order_id))
    assert order_id is not None

    sam, ada = sam_in_group(bot), ada_in_group(bot)
    await sam.send(f"/approve {order_id}")
    await until(sam, f"Claim {order_id} approved")
    await bot.runtime.tick()
    await alice.expect("Your redemption is approved", "8–12 weeks")
    approved_on = bot.clock.now().date()

    # Logistics get the parcel with everything they need, from the staff chat.
    await ada.send("/shipments export spring-2026")
    reply = await until(ada, "Shipments of spring-2026: 1 row(s)")
    assert reply.document is not None
    [row] = list(csv.DictReader(io.StringIO(bot.emulator.file_bytes(reply.document["file_id"]).decode())))
    assert row["order_id"] == order_id and row["purpose"] == "prize" and row["prize"] == "A PRO gaming mouse"
    assert (row["name"], row["street"], row["postcode"], row["phone"]) == (
        "Test User1001",
        "1 Orchard Road #02-01",
        "238824",
        "+6591234567",
    )
    assert row["email"] == "user1001@example.com" and row["status"] == "approved"
    assert row["approved_on"] == approved_on.isoformat()
    assert row["deliver_by"] == (approved_on + timedelta(weeks=12)).isoformat()

    # The tracking comes back through the operator's command: the customer hears once, with the link.
    bot.clock.current = datetime.now(UTC)
    tracking = tmp_path / "shipped.csv"
    tracking.write_text(f"order_id,carrier,tracking_number\n{order_id},DHL,1234567890\n", encoding="utf-8")
    for applied in ("1 applied, 0 unchanged", "0 applied, 1 unchanged"):  # the second run changes nothing
        code, out, err = await run_cli(bot, tmp_path, "import", "shipments", str(tracking))
        assert code == 0 and applied in out, (out, err)
    bot.clock.current = datetime.now(UTC)
    await bot.runtime.tick()
    told = await alice.expect("Your prize is on its way", "DHL", "1234567890")
    links = [e.get("url") for e in told.message.get("entities", []) if e.get("type") == "text_link"]
    assert links == [
        "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=1234567890"
    ]
    assert await fulfilment_messages(bot, "fulfilment.shipped_link") == 1

    # Another tracking number for a parcel already shipped is refused, naming the row.
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(f"order_id,carrier,tracking_number\n{order_id},UPS,1Z999\n", encoding="utf-8")
    code, out, err = await run_cli(bot, tmp_path, "import", "shipments", str(wrong))
    assert code == 1 and "line 2: tracking_number: " in err and "already shipped with DHL 1234567890" in err

    await alice.send("/status")
    await alice.expect("📦 Shipped on", "with DHL, tracking 1234567890")

    # Delivered, from the staff chat this time.
    today = bot.clock.now().date()
    delivered = f"order_id,carrier,tracking_number,delivered_on\n{order_id},DHL,1234567890,{today}\n"
    await ada.emulator.user_sends_document(
        ADMIN_ID, delivered.encode(), "delivered.csv", "text/csv", chat_id=ada.chat_id, caption="/shipments import"
    )
    await until(ada, "Shipments: 1 applied")
    await bot.runtime.tick()
    await alice.expect("Your prize has been delivered", format_day(today, "en"))
    await alice.send("/status")
    await alice.expect(f"✅ Delivered on {format_day(today, 'en')}")
    async with unit_of_work(bot.sessions) as s:
        [parcel] = (await s.scalars(select(Fulfilment))).all()
        assert parcel.state == FulfilmentState.DELIVERED and parcel.carrier == "DHL"
        card = await review_queries.card(s, parcel.claim_id)
    assert card is not None
    assert "Fulfilment: ✅ delivered" in card_text(bot.runtime.services, card)  # type: ignore[arg-type]

    # The claims export has the address, phone, amount and fulfilment columns.
    code, out, err = await run_cli(bot, tmp_path, "export", "claims", "--promotion", "spring-2026")
    [claim_row] = list(csv.DictReader(io.StringIO(out)))
    assert (
        claim_row["shipping_address"]
        == "Test User1001, 1 Orchard Road #02-01, 238824 Singapore, Singapore, +6591234567"
    )
    assert claim_row["fulfilment"] == "delivered" and claim_row["tracking_number"] == "1234567890"
    assert claim_row["phone"] == "+6591234567" and "invoice_numbers" in claim_row


async def test_second_physical_claim_reuses_the_last_address_with_one_tap(bot: BotHarness) -> None:
    await set_promotion(bot, prize_kind="physical", lucky_draw=False, redeem_limit_per_email=2)
    alice = await customer(bot, 1001, "Alice")
    member = await _member_id(bot, 1001)
    await add_product(bot, member, ELIGIBLE)
    await add_product(bot, member, "BA9H616425247")
    address = {
        "name": "Alice Tan",
        "street": "1 Orchard Rd",
        "city": "Singapore",
        "postcode": "238801",
        "country": "Singapore",
        "phone": "+6591234567",
    }
    async with unit_of_work(bot.sessions) as s:
        first = await make_claim(s, 1001, "p000000001", slug="spring-2026")
        first.shipping_address = address
    await alice.send("/redeem")
    await alice.expect("Tick the products")
    await alice.press("▫️ PRO MP241 (BA9H616425247)")
    await alice.next_reply()
    await alice.press("➡️ Next")
    await alice.expect("on the product itself")
    await alice.send_photo(distinct_photo("S/N BA9H616425247"))
    await alice.expect("to the address you gave last time")
    await alice.expect("check the shipping address", "Alice Tan", "1 Orchard Rd", "238801")
    await alice.press("✅ Confirm")
    await alice.next_reply()
    await alice.expect("Ship to: Alice Tan, 1 Orchard Rd")


async def test_lucky_draw_winner_of_a_shipped_prize_gives_an_address(bot: BotHarness, tmp_path: Path) -> None:
    bot.clock.current = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
    async with unit_of_work(bot.sessions) as s:
        won = await make_claim(s, 601, "w000000001")
        member = await s.get(Member, won.member_id)
        assert member is not None
        member.phone = "+6598765432"
    open_chat(bot.emulator, 601, "Wendy")
    wendy = Person(bot.emulator, 601, "Wendy")
    ada = Person(bot.emulator, ADMIN_ID, "Ada")
    await ada.send("/draw spring-2026 1")
    await ada.expect("Lucky draw committed")
    await ada.send("/draw spring-2026 confirm")
    await ada.expect("Winners:")
    await bot.runtime.tick()
    await wendy.expect("You won")
    await wendy.send("/status")
    await wendy.expect("🎉 Lucky draw: you won! Press")  # no longer "you joined"

    await wendy.press("🎁 Claim my prize")
    await wendy.expect("Your prize is claimed", "Where should we send it?")
    await wendy.expect("Street")
    for answer, question in (("5 Marina Blvd", "City"), ("Singapore", "Postcode"), ("018985", "check the shipping")):
        await wendy.send(answer)
        await wendy.expect(question)
    await wendy.press("✅ Confirm")
    await wendy.expect("your prize will be sent to this address", "w000000001")
    group = sam_in_group(bot)
    await bot.runtime.tick()
    notice = await until(group, "Lucky-draw prize address")
    assert "5 Marina Blvd" in notice.text and "+6598765432" in notice.text and "Wendy" not in notice.text.split("—")[0]

    async with unit_of_work(bot.sessions) as s:
        parcel = await fulfilment.get(s, won.id, fulfilment.DRAW)
        assert parcel is not None and parcel.address is not None and parcel.address["street"] == "5 Marina Blvd"
        card = await review_queries.card(s, won.id)
    assert card is not None
    text = card_text(bot.runtime.services, card)  # type: ignore[arg-type]
    assert "Lucky-draw prize: Test User601, 5 Marina Blvd, 018985 Singapore" in text

    await wendy.send("/status")
    await wendy.expect("Lucky draw: you won, and your prize is claimed")
    code, out, err = await run_cli(bot, tmp_path, "export", "shipments", "--promotion", "spring-2026")
    assert code == 0, err
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["order_id"] == "w000000001" and row["purpose"] == "draw" and row["street"] == "5 Marina Blvd"
    assert "desk" in row["prize"]

    # Pressing the button again changes nothing and asks nothing more.
    await wendy.press("🎁 Claim my prize")
    await wendy.expect("already claimed")
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(func.count()).select_from(Fulfilment)) == 1


async def test_promised_dates_per_prize_kind_and_the_fulfilment_digest(bot: BotHarness) -> None:
    """Review: 7-14 working days for every kind; then 30 working days (cashback) or 12 weeks
    (physical) from approval, in the approval message, /status and the staff's digest."""
    from storage.promotion_loader import DEFAULT_PROCESSING_DAYS

    assert set(DEFAULT_PROCESSING_DAYS.values()) == {(7, 14)}
    await set_promotion(bot, prize_kind="physical", lucky_draw=False, processing_days_min=14, redeem_limit_per_email=3)
    alice = await customer(bot, 1001, "Alice")
    await set_phone(bot, 1001, "+6591234567")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    async with unit_of_work(bot.sessions) as s:
        claim = await make_claim(s, 1001, "d000000001")
        claim.shipping_address = {
            "name": "A",
            "street": "B",
            "city": "C",
            "postcode": "1",
            "country": "SG",
            "phone": "+6591234567",
        }
        claim.decided_at = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    await alice.send("/status")
    shown = await alice.expect("ships within 8–12 weeks of approval", format_day(date(2026, 6, 2), "en"))
    assert "Redeem success" in shown.text

    # A claim of a promotion whose review promise has equal ends: "14 working days", never "14–14".
    await alice.send("/redeem")
    await alice.expect("Tick the products")
    await alice.press(f"▫️ PRO MP241 ({ELIGIBLE})")
    await alice.next_reply()
    await alice.press("➡️ Next")
    await alice.expect("on the product itself")
    await alice.send_photo(distinct_photo("S/N promise"))
    await alice.expect("to the address you gave last time")
    await alice.expect("check the shipping address")
    await alice.press("✅ Confirm")
    await alice.next_reply()
    await alice.expect("Please check your redemption")
    await alice.press("✅ Redeem")
    done = await alice.expect("which takes 14 working days")
    assert "14–14" not in done.text

    # The digest tells staff of the parcel whose 12 weeks end soon, then of it once overdue.
    sam = Person(bot.emulator, STAFF_ID, "Sam", chat_id=STAFF_CHAT_ID)
    for day, section in ((date(2026, 6, 1), 0), (date(2026, 6, 3), 1)):
        bot.clock.current = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=23, minutes=30)
        await bot.runtime.tick()
        digest = await until(sam, "Fulfilment digest")
        assert "Approved, not yet paid or shipped: 1" in digest.text
        part = digest.text.split("Past the promised date")[section]
        assert f"d000000001 — parcel, by {format_day(date(2026, 6, 2), 'en')}" in part


async def test_migration_moves_the_old_wrong_review_defaults_to_the_guides(tmp_path: Path) -> None:
    """Promotions stored with cashback 30-30 or physical 40-60 review days get 7-14; others keep theirs."""
    from sqlalchemy import text

    from storage import migrate
    from storage.db import create_engine

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await migrate.upgrade(url, "0012")
    engine = create_engine(url)
    columns = (
        "slug, names, starts_on, ends_on, invoice_from, invoice_to, redeem_limit_per_email, eligible_models,"
        " eligible_countries, prize_kind, prize_description, lucky_draw, draw_prize, processing_days_min,"
        " processing_days_max, code_pattern, timezone, residence_only, while_stock_lasts, draw_answer_days"
    )
    rows = [("cash", "cashback", 30, 30), ("gift", "physical", 40, 60), ("slow", "cashback", 10, 20)]
    async with engine.begin() as connection:
        for slug, kind, low, high in rows:
            await connection.execute(
                text(
                    f"INSERT INTO promotions ({columns}) VALUES (:slug, '{{}}', '2026-01-01', '2026-12-31',"
                    " '2026-01-01', '2026-12-31', 1, '[]', '[\"SG\"]', :kind, '{}', 0, '{}', :low, :high, 'x', 'UTC',"
                    " 0, 0, 14)"
                ),
                {"slug": slug, "kind": kind, "low": low, "high": high},
            )
    await migrate.upgrade(url)
    async with engine.connect() as connection:
        found = (
            await connection.execute(
                text("SELECT slug, processing_days_min, processing_days_max, draw_prize_ships FROM promotions")
            )
        ).all()
    await engine.dispose()
    assert sorted(tuple(row) for row in found) == [("cash", 7, 14, 1), ("gift", 7, 14, 1), ("slow", 10, 20, 1)]
