"""A cashback from the claim to the payment: payout details asked and validated, masked on the
staff card, in full in the payout file, the payment read back and told to the customer once."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from locales.i18n import format_day
from storage import fulfilment
from storage.db import unit_of_work
from storage.models import Claim, Fulfilment, FulfilmentState, OutboxMessage
from tests.conftest import BotHarness
from tests.factories import add_product, customer, distinct_photo, set_promotion
from tests.harness import Person, Reply
from tests.test_redeem import _member_id
from tests.test_staff_review import ada_in_group, next_card, sam_in_group

pytestmark = pytest.mark.quiet_staff_chat

ELIGIBLE = "BA9H040230046"
GOOD_IBAN = "DE89 3704 0044 0532 0130 00"


async def run_cli(bot: BotHarness, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """`python -m bot ARGS` on the test's database, as an operator runs it."""
    env = {**os.environ, "DATABASE_URL": str(bot.settings.database_url), "MEDIA_DIR": str(tmp_path / "media")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return int(process.returncode or 0), out.decode(), err.decode()


async def cashback_promotion(bot: BotHarness) -> None:
    await set_promotion(bot, prize_kind="cashback", cashback_amount=Decimal("50.00"), currency="SGD", lucky_draw=False)


async def redeem_to_payout(alice: Person) -> None:
    await alice.send("/redeem")
    await alice.expect("Tick the products")
    await alice.press(f"▫️ PRO MP241 ({ELIGIBLE})")
    await alice.next_reply()
    await alice.press("➡️ Next")
    await alice.expect("on the product itself")
    await alice.send_photo(distinct_photo(f"S/N {ELIGIBLE}"))
    await alice.expect("How should we pay your cashback?", "in your name (Test User1001)")


async def until(person: Person, *fragments: str) -> Reply:
    """The next reply that has every fragment (staff also see cards and other staff's answers)."""
    while True:
        reply = await person.next_reply()
        if all(fragment in reply.text for fragment in fragments):
            return reply


async def fulfilments(bot: BotHarness) -> list[Fulfilment]:
    async with unit_of_work(bot.sessions) as s:
        return list(await s.scalars(select(Fulfilment).order_by(Fulfilment.id)))


async def paid_messages(bot: BotHarness) -> int:
    async with unit_of_work(bot.sessions) as s:
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "fulfilment"))
        return sum(1 for row in rows if row.payload.get("key") == "fulfilment.paid")


async def test_cashback_claim_payout_approve_export_import_paid_once(bot: BotHarness, tmp_path: Path) -> None:
    await cashback_promotion(bot)
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    await redeem_to_payout(alice)
    await alice.press("🏦 Bank account (IBAN)")
    await alice.expect("Type your IBAN")

    # Wrong IBANs are refused with the reason, and nothing is stored.
    await alice.send("DE89 3704 0044 0532 0130 01")
    await alice.expect("check digits of this IBAN do not match", "Nothing was saved")
    await alice.send("DE89 3704 0044 0532 0130")
    await alice.expect("An IBAN from DE has 22 characters")
    await alice.send("XX89 3704 0044 0532 0130 00")
    await alice.expect("“XX” is not a country that uses IBANs")
    assert await fulfilments(bot) == []

    await alice.send(GOOD_IBAN)
    await alice.next_reply()  # the photos
    page = await alice.expect("Please check your redemption", "Cashback paid to: IBAN DE89 ••••3000")
    assert "0532" not in page.text and "✏️ Payout" in page.buttons
    await alice.press("✅ Redeem")
    done = await alice.expect("Order ID", "takes 7–14 working days", "paid within 30 working days after approval")
    assert "–14 working" in done.text and "30–30" not in done.text
    async with unit_of_work(bot.sessions) as s:
        claim = await s.scalar(select(Claim))
        assert claim is not None
    order_id = claim.order_id
    [row] = await fulfilments(bot)
    assert row.claim_id == claim.id and row.payout is not None
    assert row.payout["iban"] == "DE89370400440532013000" and row.payout["holder"] == "Test User1001"

    # The staff card shows the payout masked; staff approve.
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    card = await next_card(sam)
    assert "Payout: IBAN DE89 ••••3000" in card.text and "0532013000" not in card.text
    await sam.send(f"/approve {order_id}")
    await until(sam, f"Claim {order_id} approved")
    await bot.runtime.tick()
    approved = await alice.expect("Your redemption is approved", "50.00 Singapore dollars")
    assert "will be paid by" in approved.text

    # The payout file has the row with everything finance needs, the IBAN in full.
    code, out, err = await run_cli(bot, tmp_path, "export", "payouts", "--promotion", "spring-2026")
    assert code == 0, err
    [exported] = list(csv.DictReader(io.StringIO(out)))
    assert exported["order_id"] == order_id and exported["amount"] == "50.00" and exported["currency"] == "SGD"
    assert exported["iban"] == "DE89370400440532013000" and exported["account_holder"] == "Test User1001"
    assert exported["email"] == "user1001@example.com" and exported["status"] == "approved"
    assert exported["approved_on"] == bot.clock.now().date().isoformat() and exported["pay_by"]

    # Finance pays and sends the file back: one message, "paid" everywhere.
    bot.clock.current = datetime.now(UTC)  # the command runs on the wall clock; the bot follows it from here
    paid_on = bot.clock.now().date().isoformat()
    payments = tmp_path / "paid.csv"
    payments.write_text(f"order_id,paid_on,reference\n{order_id},{paid_on},PAY-2026-0001\n", encoding="utf-8")
    code, out, err = await run_cli(bot, tmp_path, "import", "payouts", str(payments))
    assert code == 0, err
    assert "1 applied, 0 unchanged, 0 refused" in out
    bot.clock.current = datetime.now(UTC)  # the message was queued at the command's moment
    await bot.runtime.tick()
    told = await alice.expect("Your cashback has been paid", "50.00 Singapore dollars", "PAY-2026-0001")
    assert order_id in told.text

    code, out, err = await run_cli(bot, tmp_path, "import", "payouts", str(payments))  # the same file again
    assert code == 0 and "0 applied, 1 unchanged, 0 refused" in out
    await bot.runtime.tick()
    assert await paid_messages(bot) == 1

    await alice.send("/status")
    day = format_day(date.fromisoformat(paid_on), "en")
    status = await alice.expect(f"Cashback of 50.00 Singapore dollars paid on {day} (reference PAY-2026-0001)")
    assert "Redeem success" in status.text
    [row] = await fulfilments(bot)
    assert row.state == FulfilmentState.PAID and row.payment_reference == "PAY-2026-0001"

    # Payout details are kept only as long as needed: erased PAYOUT_RETENTION_DAYS after the payment.
    paid = datetime.fromisoformat(paid_on).replace(tzinfo=UTC)
    async with unit_of_work(bot.sessions) as s:
        assert await fulfilment.expire_payouts(s, paid + timedelta(days=30), 90) == []
        assert await fulfilment.expire_payouts(s, paid + timedelta(days=91), 90) == [order_id]
    [row] = await fulfilments(bot)
    assert not row.payout and row.payout_erased_at is not None and row.payment_reference == "PAY-2026-0001"


async def test_payout_file_from_the_staff_chat_and_bad_rows_named(bot: BotHarness, tmp_path: Path) -> None:
    await cashback_promotion(bot)
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    await redeem_to_payout(alice)
    await alice.press("🏦 Other bank account")
    await alice.expect("account number, then the bank's BIC")
    await alice.send("123-456789-0 DBSS")
    await alice.expect("not a valid BIC")
    await alice.send("123-456789-0 DBSSSGSG")
    await alice.next_reply()
    await alice.expect("Cashback paid to: ••••7890 (DBSSSGSG)")
    await alice.press("✅ Redeem")
    await alice.expect("Order ID")
    async with unit_of_work(bot.sessions) as s:
        order_id = await s.scalar(select(Claim.order_id))
    assert order_id is not None
    ada, sam = ada_in_group(bot), sam_in_group(bot)
    await sam.send(f"/approve {order_id}")
    await until(sam, f"Claim {order_id} approved")
    await bot.runtime.tick()
    await alice.expect("approved")

    # Staff who are not admins may not take the file; the admin gets it as a document.
    await sam.send("/payouts export spring-2026")
    await until(sam, "for the promotion staff only")
    await ada.send("/payouts export spring-2026")
    reply = await until(ada, "Payouts of spring-2026: 1 row(s)")
    assert reply.document is not None and reply.document["file_name"].startswith("payouts-spring-2026-")
    [row] = list(csv.DictReader(io.StringIO(bot.emulator.file_bytes(reply.document["file_id"]).decode())))
    assert row["account_number"] == "1234567890" and row["bic"] == "DBSSSGSG" and row["method"] == "account"

    # A file with a bad row: the row and the field are named, and nothing of it is applied.
    today = bot.clock.now().date()
    bad = (
        "order_id,paid_on,reference\n"
        f"{order_id},{today + timedelta(days=3)},PAY-9\n"
        "nosuchorder,2026-03-10,PAY-10\n"
        f"{order_id},{today},\n"
    )
    await ada.emulator.user_sends_document(
        ada.user_id, bad.encode(), "paid.csv", "text/csv", chat_id=ada.chat_id, caption="/payouts import"
    )
    report = await until(ada, "0 applied", "3 refused")
    assert "line 2, paid_on" in report.text and "in the future" in report.text
    assert "line 3, order_id: no order 'nosuchorder'" in report.text
    assert "line 4, reference: is missing" in report.text
    assert [r.state for r in await fulfilments(bot)] == [FulfilmentState.APPROVED]

    good = f"order_id,paid_on,reference\n{order_id},{today},PAY-11\n"
    await ada.emulator.user_sends_document(
        ada.user_id, good.encode(), "paid.csv", "text/csv", chat_id=ada.chat_id, caption="/payouts import"
    )
    await until(ada, "1 applied (each customer told once), 0 unchanged, 0 refused")
    await bot.runtime.tick()
    await alice.expect("Your cashback has been paid", "PAY-11")

    # /deleteme erases the payout details at once.
    await alice.send("/deleteme")
    await alice.expect("Delete all your data?", "payout details")
    await alice.press("🗑 Yes, delete everything")
    await alice.next_reply()
    [row] = await fulfilments(bot)
    assert not row.payout and row.payout_erased_at is not None
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(func.count()).select_from(Fulfilment)) == 1


async def test_payout_step_in_chinese_back_and_an_e_wallet(bot: BotHarness) -> None:
    """The reasons are in the customer's language; Back returns to the choice of method."""
    await cashback_promotion(bot)
    bao = await customer(bot, 1002, "Bao", "zh-TW", language="zh-Hant")
    await add_product(bot, await _member_id(bot, 1002), ELIGIBLE)
    await bao.send("/redeem")
    await bao.next_reply()
    await bao.press(f"▫️ PRO MP241（{ELIGIBLE}）")
    await bao.next_reply()
    await bao.press("➡️ 下一步")
    await bao.next_reply()
    await bao.send_photo(distinct_photo("S/N bao"))
    await bao.expect("現金回饋要如何支付給您？")
    await bao.press("🏦 銀行帳戶（IBAN）")
    await bao.expect("請輸入您的 IBAN")
    await bao.send("GB82 WEST 1234 5698 7654 33")
    await bao.expect("檢核碼不符", "尚未儲存任何資料")
    await bao.press("⬅️ 上一步")
    await bao.expect("現金回饋要如何支付給您？")
    await bao.press("📱 電子錢包")
    await bao.expect("電子錢包名稱")
    await bao.send("LINEPay 0912345678")
    await bao.next_reply()  # the photos
    page = await bao.expect("現金回饋匯入：LINEPay ••••5678")
    assert "0912345678" not in page.text
    assert await fulfilments(bot) == []  # stored only with the claim, at submit
