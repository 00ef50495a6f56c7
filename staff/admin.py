"""`/staff add|remove|list` (admins): who may use the staff commands.

    /staff list                       admins and staff from the settings, then staff added here
    /staff add USER_ID | @username    make someone staff
    /staff remove USER_ID | @username remove someone added here

`@username` is resolved only for people the bot knows (`storage.staff_admin.resolve`: a
customer's saved username, or a staff member added earlier with one); the Bot API cannot look up
an arbitrary username. Admins and staff listed in the settings are changed in the settings.
Every change goes to the audit log (`storage.staff`).
"""

from __future__ import annotations

from locales.i18n import Raw, Translator
from staff.router import Command
from staff.turn import StaffTurn
from storage import staff_admin


def who(
    translator: Translator, language: str, user_id: int, username: str | None = None, name: str | None = None
) -> Raw:
    """How a person is shown: @username (id), name (id) or the id; already HTML, not escaped again."""
    if username:
        return Raw(translator.t(language, "staff_tools.staff.who_username", username=username, user_id=user_id))
    if name:
        return Raw(translator.t(language, "staff_tools.staff.who_name", name=name, user_id=user_id))
    return Raw(translator.t(language, "staff_tools.staff.who_id", user_id=user_id))


async def staff_command(turn: StaffTurn) -> None:
    """Admins: list, add or remove staff; every change is audited by the service."""
    words = turn.args
    action = words[0].lower() if words else ""
    if action == "list":
        turn.say_text(await _roster(turn))
        return
    if action not in ("add", "remove") or len(words) != 2:
        turn.say("staff_tools.staff.help")
        return
    configured = turn.services.settings.staff_ids
    found = await staff_admin.resolve(turn.session, words[1])
    if found is None:
        turn.say("staff_tools.staff.unknown_user", ref=words[1])
        return
    user_id, username = found
    if action == "add":
        outcome = await staff_admin.add(turn.session, user_id, username, turn.user_id, turn.now, configured)
    else:
        outcome = await staff_admin.remove(turn.session, user_id, turn.user_id, turn.now, configured)
    turn.say(f"staff_tools.staff.{outcome}", who=who(turn.services.translator, turn.language, user_id, username))


async def _roster(turn: StaffTurn) -> str:
    translator, language, settings = turn.services.translator, turn.language, turn.services.settings
    entries = await staff_admin.roster(turn.session, settings.admin_user_ids, settings.staff_user_ids)
    added_by = {
        e.added_by: await staff_admin.resolve(turn.session, str(e.added_by)) for e in entries if e.added_by is not None
    }
    lines = [turn.t("staff_tools.staff.list_title", count=len(entries))]
    for entry in entries:
        label = who(translator, language, entry.user_id, entry.username, entry.name)
        if entry.source == "admin":
            lines.append(turn.t("staff_tools.staff.list_admin", who=label))
        elif entry.source == "settings":
            lines.append(turn.t("staff_tools.staff.list_settings", who=label))
        else:
            assert entry.added_by is not None and entry.added_at is not None
            adder = added_by.get(entry.added_by)
            by = who(translator, language, entry.added_by, adder[1] if adder else None)
            lines.append(
                turn.t("staff_tools.staff.list_chat", who=label, added_by=by, date=entry.added_at.strftime("%Y-%m-%d"))
            )
    return "\n".join(lines)


COMMANDS = [Command("staff", staff_command, admin=True)]
