"""The journey rules as storage services (CHK attempts, purchase dates, invoice numbers, the
address schema, a claim's missing pieces), without a bot."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage import addresses, claims, registration
from storage.demo import DEMO_CHK_SECRET, load_demo_data
from storage.models import PrizeKind, Promotion
from tests.factories import new_member

SERIAL, CHK = "BA9H040230046", "318"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def _member(session: AsyncSession) -> int:
    await load_demo_data(session)
    member = new_member(4001)
    session.add(member)
    await session.flush()
    return member.id


async def test_chk_right_wrong_then_locked_until(session: AsyncSession) -> None:
    member_id = await _member(session)
    ok = await registration.check_chk(session, member_id, SERIAL, CHK, NOW, DEMO_CHK_SECRET)
    assert ok.outcome is registration.ChkOutcome.OK
    for left in (4, 3, 2, 1):
        wrong = await registration.check_chk(session, member_id, SERIAL, "000", NOW, DEMO_CHK_SECRET)
        assert (wrong.outcome, wrong.tries_left) == (registration.ChkOutcome.WRONG, left)
    locked = await registration.check_chk(session, member_id, SERIAL, "000", NOW, DEMO_CHK_SECRET)
    assert locked.outcome is registration.ChkOutcome.LOCKED and locked.locked_until == NOW + registration.LOCK_FOR
    assert locked.minutes_locked(NOW) == 60
    later = NOW + timedelta(minutes=30, seconds=10)
    still = await registration.check_chk(session, member_id, SERIAL, CHK, later, DEMO_CHK_SECRET)  # the right code too
    assert still.outcome is registration.ChkOutcome.LOCKED and still.minutes_locked(later) == 30
    after = NOW + registration.LOCK_FOR + timedelta(seconds=1)
    assert (
        await registration.check_chk(session, member_id, SERIAL, CHK, after, DEMO_CHK_SECRET)
    ).outcome is registration.ChkOutcome.OK


async def test_purchase_date_bounds(session: AsyncSession) -> None:
    late_evening = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    assert registration.latest_purchase_date(late_evening) == date(2026, 3, 11)  # already the 11th in Kiribati
    bounds = await registration.purchase_date_bounds(session, None, late_evening)
    assert bounds == registration.PurchaseDateBounds(date(2026, 3, 11), None)
    assert bounds.problem(date(2026, 3, 11)) is None
    assert bounds.problem(date(2026, 3, 12)) is registration.DateProblem.IN_FUTURE
    launched = registration.PurchaseDateBounds(date(2026, 3, 11), date(2025, 6, 1))
    assert launched.problem(date(2025, 5, 31)) is registration.DateProblem.BEFORE_LAUNCH
    assert launched.problem(date(2025, 6, 1)) is None


def test_invoice_number_normalization() -> None:
    assert registration.normalize_invoice_number("  inv-2026   0042 ") == "INV-2026 0042"
    assert registration.normalize_invoice_number("a/b.c_d#1") == "A/B.C_D#1"
    for bad in ("", "x", "-123", "INV<script>", "9" * 65):
        assert registration.normalize_invoice_number(bad) is None


def test_address_schema() -> None:
    assert addresses.missing_field({}) is addresses.AddressField.NAME
    partial = {"name": "Alice Tan", "street": "1 Orchard Road"}
    assert addresses.missing_field(partial) is addresses.AddressField.CITY
    assert addresses.check_field(addresses.AddressField.CITY, "  Singa   pore ", "SG") == addresses.FieldCheck(
        "Singa pore"
    )
    assert addresses.check_field(addresses.AddressField.CITY, "x", "SG").problem is addresses.AddressProblem.BAD_TEXT
    assert addresses.check_field(addresses.AddressField.PHONE, "9123 4567", "SG") == addresses.FieldCheck("+6591234567")
    assert addresses.check_field(addresses.AddressField.PHONE, "12", "SG").problem is addresses.AddressProblem.BAD_PHONE
    complete = {field.value: "ok value" for field in addresses.AddressField}
    assert addresses.is_complete(complete) and not addresses.is_complete(partial)


def test_missing_pieces_in_the_order_they_are_asked() -> None:
    physical = Promotion(lucky_draw=True, prize_kind=PrizeKind.PHYSICAL)
    missing = claims.missing_pieces(physical, [1, 2], {1}, None, {"name": "Alice"})
    assert missing == [
        claims.Missing(claims.Piece.SN_PHOTO, 2),
        claims.Missing(claims.Piece.LUCKY_DRAW),
        claims.Missing(claims.Piece.ADDRESS),
    ]
    full = {field.value: "ok value" for field in addresses.AddressField}
    assert claims.missing_pieces(physical, [1, 2], {1, 2}, False, full) == []
    code = Promotion(lucky_draw=False, prize_kind=PrizeKind.DIGITAL_CODE)
    assert claims.missing_pieces(code, [1], {1}, None, None) == []
