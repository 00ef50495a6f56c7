"""Activation codes: imported from CSV by the operator or in the chat, validated, deduplicated."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import cmd_codes_import
from bot.config import Settings
from emulator import Emulator
from storage.db import SessionFactory, unit_of_work
from storage.demo import load_demo_data
from storage.models import ActivationCode, AuditEntry
from tests.conftest import ADMIN_ID, STAFF_CHAT_ID, STAFF_ID
from tests.harness import Person
from tests.staff_tools_support import open_chat, start_bot

CSV = b"""code,batch
aaaaa-bbbbb-ccccc,1
AAAAA-BBBBB-CCCCD,1
# a comment line
AAAAA-BBBBB-CCCCC,1
not-a-code,1
AAAAA-BBBBB-CCCC,1

ZZZZZ-00000-11111,2
"""


async def _codes(sessions: SessionFactory) -> list[str]:
    async with unit_of_work(sessions) as session:
        return sorted((await session.scalars(select(ActivationCode.code))).all())


async def test_operator_imports_a_csv_file(
    sessions: SessionFactory, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with unit_of_work(sessions) as session:
        await load_demo_data(session)
    settings = Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
    file = tmp_path / "codes.csv"
    file.write_bytes(b"\xef\xbb\xbf" + CSV)  # Excel's "CSV UTF-8" starts with a byte-order mark

    assert await cmd_codes_import(argparse.Namespace(promotion="spring-2026", file=str(file)), settings) == 0
    out, err = capsys.readouterr()
    assert "spring-2026: 3 added, 1 duplicate(s) skipped, 2 invalid line(s); 3 unused code(s) now" in out
    assert "line 6: 'not-a-code'" in err and "line 7: 'AAAAA-BBBBB-CCCC'" in err and "fewer than 20 codes left" in err
    assert await _codes(sessions) == ["AAAAA-BBBBB-CCCCC", "AAAAA-BBBBB-CCCCD", "ZZZZZ-00000-11111"]

    assert (
        await cmd_codes_import(argparse.Namespace(promotion="spring-2026", file=str(file)), settings) == 0
    )  # again: nothing new
    assert "0 added, 4 duplicate(s) skipped" in capsys.readouterr().out
    assert await cmd_codes_import(argparse.Namespace(promotion="autumn", file=str(file)), settings) == 1
    assert "no promotion 'autumn'; known: spring-2026" in capsys.readouterr().err
    async with unit_of_work(sessions) as session:
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "codes.imported"))).all()
        assert [(a.subject, a.details["added"], a.details["source"]) for a in audit] == [
            ("spring-2026", 3, "cli"),
            ("spring-2026", 0, "cli"),
        ]


async def test_staff_chat_import_as_caption_or_reply_and_the_stock(
    emulator: Emulator, db_url: str, tmp_path: Path
) -> None:
    bot = await start_bot(emulator, db_url, tmp_path)
    try:
        group = Person(emulator, ADMIN_ID, "Ada", chat_id=STAFF_CHAT_ID)
        await emulator.user_sends_document(
            ADMIN_ID, CSV, "codes.csv", "text/csv", caption="/codes import spring-2026", chat_id=STAFF_CHAT_ID
        )
        report = await group.expect(
            "Codes imported for Productivity From Spring!",
            "Added: 3",
            "Duplicates skipped: 1",
            "Invalid lines: 2",
            "Unused codes now: 3",
        )
        assert "line 6: not-a-code" in report.text and "Fewer than 20 codes left" in report.text

        # The other way: the file first (no caption), then a reply to it with the command.
        more = b"QQQQQ-WWWWW-EEEEE\nZZZZZ-00000-11111\n"
        document = await emulator.user_sends_document(ADMIN_ID, more, "more.csv", "text/csv", chat_id=STAFF_CHAT_ID)
        await emulator.user_sends_text(
            ADMIN_ID, "/codes import spring-2026", chat_id=STAFF_CHAT_ID, reply_to=document["message_id"]
        )
        await group.expect("Added: 1", "Duplicates skipped: 1", "Unused codes now: 4")
        assert await _codes(bot.sessions) == [
            "AAAAA-BBBBB-CCCCC",
            "AAAAA-BBBBB-CCCCD",
            "QQQQQ-WWWWW-EEEEE",
            "ZZZZZ-00000-11111",
        ]

        await group.send("/codes import spring-2026")  # no file
        await group.expect("as a document with the caption")
        await emulator.user_sends_document(
            ADMIN_ID,
            "ÄÖ".encode("latin-1"),
            "codes.csv",
            "text/csv",
            caption="/codes import spring-2026",
            chat_id=STAFF_CHAT_ID,
        )
        await group.expect("not a text (CSV) file in UTF-8")
        await emulator.user_sends_document(
            ADMIN_ID, more, "codes.csv", "text/csv", caption="/codes import autumn", chat_id=STAFF_CHAT_ID
        )
        await group.expect("There is no promotion", "spring-2026")

        await emulator.user_sends_text(STAFF_ID, "/codes", chat_id=STAFF_CHAT_ID)  # any staff member sees the stock
        stock = await group.expect("Activation codes left", "Productivity From Spring!", "4 unused of 4")
        assert "fewer than 20 left" in stock.text
        await emulator.user_sends_document(
            STAFF_ID, more, "codes.csv", "text/csv", caption="/codes import spring-2026", chat_id=STAFF_CHAT_ID
        )
        await group.expect("staff only")  # importing is for admins
        await group.send("/codes help")
        await group.expect("/codes import SLUG", "reply to")

        open_chat(emulator, 555, "Carl")
        carl = Person(emulator, 555, "Carl")
        await carl.send("/codes")
        await carl.expect("staff only")
        assert len(await _codes(bot.sessions)) == 4
    finally:
        await bot.runtime.stop()
