"""Exports and promotion controls from the staff chat (admins): the files' rows are the database's,
in CSV and XLSX, with an edited progress message; pause, resume and end change what customers see
in /promotions and /redeem; extend moves the deadline; a promotions or catalogue file sent as a
document loads only when it is valid as a whole, else the bad row and field are named. Each act is
in the audit log."""

from __future__ import annotations

import argparse
import csv
import io
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.cli import cmd_export_claims, cmd_export_file
from storage import export, exports
from storage.db import unit_of_work
from storage.models import AuditEntry, CatalogueProduct, Claim, ClaimStatus, Member, Promotion
from tests.conftest import BotHarness
from tests.factories import add_product, customer
from tests.harness import Person, Reply
from tests.staff_tools_support import claim
from tests.test_redeem import _member_id
from tests.test_staff_review import ada_in_group, sam_in_group

pytestmark = pytest.mark.quiet_staff_chat

ELIGIBLE = "BA9H040230046"
DEMO = Path(__file__).resolve().parent.parent / "storage" / "demo"


async def until(person: Person, *fragments: str) -> Reply:
    while True:
        reply = await person.next_reply()
        if all(fragment in reply.text for fragment in fragments):
            return reply


async def audit_actions(bot: BotHarness) -> list[tuple[str, str | None]]:
    async with unit_of_work(bot.sessions) as s:
        rows = await s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(row.action, row.subject) for row in rows if not row.action.startswith("staff.")]


async def seed_claims(bot: BotHarness, count: int) -> None:
    async with unit_of_work(bot.sessions) as s:
        for index in range(count):
            status = (ClaimStatus.APPROVED, ClaimStatus.REVIEW, ClaimStatus.REJECTED)[index % 3]
            await claim(s, 7000 + index, f"x{index:09d}", status=status)
        members = list(await s.scalars(select(Member).where(Member.telegram_user_id >= 7000).order_by(Member.id)))
        for member in members[::2]:
            member.newsletter = True
        members[-1].newsletter, members[-1].deleted_at = True, bot.clock.now()  # deleted: never exported


async def test_exports_are_the_databases_rows_with_progress(bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    await seed_claims(bot, 7)
    ada, sam = ada_in_group(bot), sam_in_group(bot)
    await sam.send("/export claims")
    await until(sam, "for the promotion staff only")

    await ada.send("/export claims spring-2026 xlsx")
    started = await until(ada, "Exporting claims as xlsx")
    progress = [await ada.next_reply() for _ in range(3)]
    assert all(r.message_id == started.message_id for r in progress)
    assert [r.text for r in progress] == [f"📤 Exporting claims… rows read so far: {n}" for n in (2, 4, 6)]
    document = await until(ada, "claims: rows: 7")
    assert document.document is not None and document.document["file_name"].endswith(".xlsx")
    done = await until(ada, "Export of claims sent")
    assert done.message_id == started.message_id
    sheet = load_workbook(io.BytesIO(bot.emulator.file_bytes(document.document["file_id"]))).active
    values = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    async with unit_of_work(bot.sessions) as s:
        expected = [row async for row in export.claim_rows(s, "spring-2026")]
        order_ids = list(await s.scalars(select(Claim.order_id).order_by(Claim.submitted_at, Claim.id)))
    assert tuple(values[0]) == export.COLUMNS
    assert [dict(zip(export.COLUMNS, row, strict=True)) for row in values[1:]] == expected
    assert [row["order_id"] for row in expected] == order_ids and len(order_ids) == 7

    await ada.send("/export subscribers csv")
    document = await until(ada, "subscribers: rows:")
    assert document.document is not None
    rows = list(csv.DictReader(io.StringIO(bot.emulator.file_bytes(document.document["file_id"]).decode())))
    async with unit_of_work(bot.sessions) as s:
        opted = await s.scalars(
            select(Member.telegram_user_id).where(Member.newsletter.is_(True), Member.deleted_at.is_(None))
        )
        assert sorted(int(row["telegram_user_id"]) for row in rows) == sorted(opted) and len(rows) == 3

    await ada.send("/export payouts")
    await until(ada, "belongs to one promotion")
    await ada.send("/export claims nope")
    await until(ada, "There is no promotion nope")
    assert ("export.requested", "claims") in await audit_actions(bot)
    assert ("export.requested", "subscribers") in await audit_actions(bot)


async def test_pause_resume_end_change_what_customers_see(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    await add_product(bot, await _member_id(bot, 1001), ELIGIBLE)
    ada = ada_in_group(bot)
    today = bot.clock.now().date()
    until_day = today + timedelta(days=5)

    await ada.send(f"/promotion pause spring-2026 {until_day.isoformat()}")
    await until(ada, "is paused until")
    await alice.send("/promotions")
    card = await alice.next_reply()
    assert "⏸ Paused until" in card.text
    await alice.send("/redeem")
    await alice.expect("None of your products can be redeemed right now")
    await alice.expect("the promotion is paused until")
    await alice.next_reply()  # the hint to register more products

    await ada.send("/promotion resume spring-2026")
    await until(ada, "accepts claims again")
    await alice.send("/promotions")
    assert "Paused" not in (await alice.next_reply()).text
    await ada.send("/promotion resume spring-2026")
    await until(ada, "is not paused")

    await ada.send("/promotion end spring-2026")
    await until(ada, "has ended")
    await alice.send("/promotions")
    assert "⛔ Ended" in (await alice.next_reply()).text
    await alice.send("/redeem")
    await alice.expect("None of your products can be redeemed right now")
    await alice.expect("the promotion has ended")
    await ada.send("/promotion pause spring-2026")
    await until(ada, "has ended already")

    async with unit_of_work(bot.sessions) as s:
        promotion = await s.scalar(select(Promotion).where(Promotion.slug == "spring-2026"))
        assert promotion is not None and promotion.ended_at is not None and promotion.paused_at is None
    assert [a for a in await audit_actions(bot) if a[0].startswith("promotion.")] == [
        ("promotion.paused", "spring-2026"),
        ("promotion.resumed", "spring-2026"),
        ("promotion.ended", "spring-2026"),
    ]


async def test_extend_moves_the_deadline(bot: BotHarness) -> None:
    ada = ada_in_group(bot)
    await ada.send("/promotion extend spring-2026 2026-01-01")
    await until(ada, "must be later")
    await ada.send("/promotion extend spring-2026 31.01.2027")
    await until(ada, "is not a date")
    await ada.send("/promotion extend spring-2026 2027-01-31")
    await until(ada, "now accepted until 2027-01-31")
    async with unit_of_work(bot.sessions) as s:
        promotion = await s.scalar(select(Promotion).where(Promotion.slug == "spring-2026"))
        assert promotion is not None and promotion.redeem_deadline is not None
        assert promotion.redeem_deadline.isoformat() == "2027-01-31"
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "promotion.extended"))
        assert entry is not None and entry.details["to"] == "2027-01-31"


async def test_a_promotions_file_loads_only_when_valid(bot: BotHarness) -> None:
    ada = ada_in_group(bot)
    text = (DEMO / "promotion.toml").read_text(encoding="utf-8")
    slug = tomllib.loads(text)["promotions"][0]["slug"]
    bad = text.replace("redeem_limit_per_email = 3", "redeem_limit_per_email = -3", 1)
    async with unit_of_work(bot.sessions) as s:
        before = await s.scalar(select(Promotion).where(Promotion.slug == slug))
        assert before is not None
        limit, count = before.redeem_limit_per_email, len(list(await s.scalars(select(Promotion))))

    await ada.emulator.user_sends_document(
        ada.user_id, bad.encode(), "spring.toml", "application/toml", chat_id=ada.chat_id, caption="/promotion load"
    )
    refused = await until(ada, "was not loaded; nothing changed")
    assert f"promotions[1] ({slug}) — redeem_limit_per_email" in refused.text

    renamed = text.replace("redeem_limit_per_email = 3", "redeem_limit_per_email = 4", 1)
    table = renamed.split("\n[[promotions]]\n", 1)[1]
    extra = renamed + "\n[[promotions]]\n" + table.replace(f'slug = "{slug}"', 'slug = "autumn-2026"')
    await ada.emulator.user_sends_document(
        ada.user_id, extra.encode(), "promotions.toml", "application/toml", chat_id=ada.chat_id
    )
    await ada.send("/promotion load")
    await until(ada, "Send the file as a document")
    async with unit_of_work(bot.sessions) as s:
        after = await s.scalar(select(Promotion).where(Promotion.slug == slug))
        assert after is not None and after.redeem_limit_per_email == limit
        assert len(list(await s.scalars(select(Promotion)))) == count

    await ada.emulator.user_sends_document(
        ada.user_id,
        extra.encode(),
        "promotions.toml",
        "application/toml",
        chat_id=ada.chat_id,
        caption="/promotion load",
    )
    loaded = await until(ada, "✅ promotions.toml")
    assert f"loaded. Promotions: 2 ({slug}, autumn-2026)" in loaded.text
    async with unit_of_work(bot.sessions) as s:
        after = await s.scalar(select(Promotion).where(Promotion.slug == slug))
        assert after is not None and after.redeem_limit_per_email == 4
        assert await s.scalar(select(Promotion).where(Promotion.slug == "autumn-2026")) is not None
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "promotions.loaded"))
        assert entry is not None and entry.details["slugs"] == [slug, "autumn-2026"]


async def test_a_catalogue_file_loads_only_when_valid(bot: BotHarness) -> None:
    ada = ada_in_group(bot)
    text = (DEMO / "catalogue.toml").read_text(encoding="utf-8")
    new = text + (
        '\n[[products]]\ncategory = "monitor"\nname = "New Monitor"\nmodel = "NEW-MODEL-1"\nwarranty_months = 36\n'
        "launch_date = 2026-01-05\nserial_pattern = '^NEW[0-9]{8}$'\nchk = \"keyed\"\n"
    )
    bad = new.replace("warranty_months = 24", "warranty_months = -1", 1)
    await ada.emulator.user_sends_document(
        ada.user_id, bad.encode(), "catalogue.toml", "application/toml", chat_id=ada.chat_id, caption="/catalogue load"
    )
    refused = await until(ada, "was not loaded; nothing changed")
    assert "products[1]" in refused.text and "— warranty_months:" in refused.text
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(CatalogueProduct).where(CatalogueProduct.model == "NEW-MODEL-1")) is None
    assert not [a for a in await audit_actions(bot) if a[0] == "catalogue.loaded"]

    await ada.emulator.user_sends_document(
        ada.user_id, new.encode(), "catalogue.toml", "application/toml", chat_id=ada.chat_id, caption="/catalogue load"
    )
    loaded = await until(ada, "✅ catalogue.toml loaded")
    assert "(new 1, changed 0)" in loaded.text
    async with unit_of_work(bot.sessions) as s:
        assert await s.scalar(select(CatalogueProduct).where(CatalogueProduct.model == "NEW-MODEL-1")) is not None
    assert ("catalogue.loaded", "catalogue.toml") in await audit_actions(bot)


async def test_cli_writes_the_same_subscribers_and_xlsx(bot: BotHarness, tmp_path: Path) -> None:
    await seed_claims(bot, 4)
    target = tmp_path / "subscribers.xlsx"
    args = argparse.Namespace(export_command="subscribers", promotion=None, format="xlsx", output=str(target))
    assert await cmd_export_file(args, bot.settings) == 0
    sheet = load_workbook(target).active
    rows = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    async with unit_of_work(bot.sessions) as s:
        table = await exports.read(s, "subscribers")
    assert tuple(rows[0]) == exports.SUBSCRIBER_COLUMNS
    assert [dict(zip(exports.SUBSCRIBER_COLUMNS, row, strict=True)) for row in rows[1:]] == table.rows
    assert [row["telegram_user_id"] for row in table.rows] == ["7000", "7002"]  # 7003 opted in, then deleted
    claims_csv = tmp_path / "claims.csv"
    args = argparse.Namespace(export_command="claims", promotion="spring-2026", format="csv", output=str(claims_csv))
    assert await cmd_export_claims(args, bot.settings) == 0
    async with unit_of_work(bot.sessions) as s:
        assert exports.render(await exports.read(s, "claims", "spring-2026"), "csv") == claims_csv.read_bytes()
