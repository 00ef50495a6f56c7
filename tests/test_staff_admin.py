"""`/staff add|remove|list`: admins manage staff; everyone else is refused, and it is audited."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from emulator import Emulator
from storage.db import unit_of_work
from storage.models import AuditEntry, StaffMember
from tests.conftest import ADMIN_ID, STAFF_CHAT_ID, STAFF_ID
from tests.harness import Person
from tests.staff_tools_support import member, open_chat, start_bot


async def test_admin_adds_lists_and_removes_staff(emulator: Emulator, db_url: str, tmp_path: Path) -> None:
    bot = await start_bot(emulator, db_url, tmp_path)
    try:
        async with unit_of_work(bot.sessions) as session:
            await member(session, 7002, username="Alice_W")  # a customer the bot knows by username
        ada = Person(emulator, ADMIN_ID, "Ada")
        await ada.send("/staff")
        await ada.expect("/staff add USER_ID", "@username works only")

        await ada.send("/staff add 7001")
        await ada.expect("7001 is staff now")
        await ada.send("/staff add 7001")
        await ada.expect("7001 is already staff")
        await ada.send("/staff add @alice_w")
        await ada.expect("@Alice_W (7002) is staff now")
        await ada.send("/staff add @stranger")
        await ada.expect("I do not know @stranger")
        await ada.send(f"/staff add {STAFF_ID}")
        await ada.expect("already staff through the settings")

        await ada.send("/staff list")
        roster = await ada.expect("Staff (4)")
        lines = roster.text.splitlines()
        assert "admin (settings)" in lines[1] and str(ADMIN_ID) in lines[1]
        assert "staff (settings)" in lines[2] and str(STAFF_ID) in lines[2]
        assert lines[3].startswith("🧑‍💼 7001 — added by") and "@Alice_W (7002)" in lines[4]

        open_chat(emulator, 7001, "Newbie")
        newbie = Person(emulator, 7001, "Newbie")
        await newbie.send("/codes")  # a staff command now works for them
        await newbie.expect("Activation codes left")

        await ada.send("/staff remove 7001")
        await ada.expect("7001 is no longer staff")
        await ada.send("/staff remove 7001")
        await ada.expect("not among the staff added here")
        await ada.send(f"/staff remove {STAFF_ID}")
        await ada.expect("change the setting to remove them")
        await newbie.send("/codes")
        await newbie.expect("staff only")

        async with unit_of_work(bot.sessions) as session:
            assert [m.telegram_user_id for m in (await session.scalars(select(StaffMember))).all()] == [7002]
            actions = [
                (a.action, a.subject, a.actor_user_id)
                for a in (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
            ]
        assert ("staff.added", "7001", ADMIN_ID) in actions and ("staff.added", "7002", ADMIN_ID) in actions
        assert ("staff.removed", "7001", ADMIN_ID) in actions and ("staff.refused", "codes", 7001) in actions
    finally:
        await bot.runtime.stop()


async def test_staff_tools_refuse_everyone_else(emulator: Emulator, db_url: str, tmp_path: Path) -> None:
    """Customers get "not allowed" for every command here; staff who are not admins for the admin ones."""
    bot = await start_bot(emulator, db_url, tmp_path)
    try:
        open_chat(emulator, 555, "Carl")
        carl = Person(emulator, 555, "Carl")
        for command in (
            "/staff list",
            "/staff add 555",
            "/draw spring-2026 1",
            "/draw spring-2026 confirm",
            "/codes",
            "/codes import spring-2026",
        ):
            await carl.send(command)
            await carl.expect("staff only")
        group = Person(emulator, ADMIN_ID, "Ada", chat_id=STAFF_CHAT_ID)
        for command in ("/staff list", "/staff add 555", "/draw spring-2026 1", "/codes import spring-2026"):
            await emulator.user_sends_text(STAFF_ID, command, chat_id=STAFF_CHAT_ID)
            await group.expect("staff only")
        async with unit_of_work(bot.sessions) as session:
            refused = [
                (a.actor_user_id, a.subject)
                for a in (
                    await session.scalars(
                        select(AuditEntry).where(AuditEntry.action == "staff.refused").order_by(AuditEntry.id)
                    )
                ).all()
            ]
            assert (await session.scalars(select(StaffMember))).all() == []
        assert refused == [
            (555, "staff"),
            (555, "staff"),
            (555, "draw"),
            (555, "draw"),
            (555, "codes"),
            (555, "codes"),
            (STAFF_ID, "staff"),
            (STAFF_ID, "staff"),
            (STAFF_ID, "draw"),
            (STAFF_ID, "codes import"),
        ]
    finally:
        await bot.runtime.stop()
