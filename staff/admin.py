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

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from locales.i18n import Raw, Translator
from bot.language import language_of
from bot.replies import send_html
from staff.access import staff_only
from storage import staff_admin
from storage.db import unit_of_work


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    return [CommandHandler("staff", staff_command)]  # type: ignore[arg-type]


async def _say(update: Update, context: BotContext, text: str) -> None:
    assert update.effective_chat is not None
    await send_html(context, update.effective_chat.id, text)  # paced, retried (bot/replies.py)


def who(translator: Translator, language: str, user_id: int, username: str | None = None, name: str | None = None) -> Raw:
    """How a person is shown: @username (id), name (id) or the id; already HTML, not escaped again."""
    if username:
        return Raw(translator.t(language, "staff_tools.staff.who_username", username=username, user_id=user_id))
    if name:
        return Raw(translator.t(language, "staff_tools.staff.who_name", name=name, user_id=user_id))
    return Raw(translator.t(language, "staff_tools.staff.who_id", user_id=user_id))


@staff_only("staff", admin=True)
async def staff_command(update: Update, context: BotContext) -> None:
    services = context.services
    user = update.effective_user
    assert user is not None
    language = await language_of(services, update)
    translator = services.translator
    t = translator.t
    words = list(context.args or [])
    action = words[0].lower() if words else ""
    if action == "list":
        await _say(update, context, await _roster(context, language))
        return
    if action not in ("add", "remove") or len(words) != 2:
        await _say(update, context, t(language, "staff_tools.staff.help"))
        return
    settings = services.settings
    now = services.clock.now()
    async with unit_of_work(services.sessions) as session:
        found = await staff_admin.resolve(session, words[1])
        if found is None:
            text = t(language, "staff_tools.staff.unknown_user", ref=words[1])
        else:
            user_id, username = found
            label = who(translator, language, user_id, username)
            if action == "add":
                outcome = await staff_admin.add(session, user_id, username, user.id, now, settings.staff_ids)
            else:
                outcome = await staff_admin.remove(session, user_id, user.id, now, settings.staff_ids)
            text = t(language, f"staff_tools.staff.{outcome}", who=label)
    await _say(update, context, text)


async def _roster(context: BotContext, language: str) -> str:
    services = context.services
    translator = services.translator
    t = translator.t
    settings = services.settings
    async with unit_of_work(services.sessions) as session:
        entries = await staff_admin.roster(session, settings.admin_user_ids, settings.staff_user_ids)
        added_by = {e.added_by: await staff_admin.resolve(session, str(e.added_by)) for e in entries if e.added_by is not None}
    lines = [t(language, "staff_tools.staff.list_title", count=len(entries))]
    for entry in entries:
        label = who(translator, language, entry.user_id, entry.username, entry.name)
        if entry.source == "admin":
            lines.append(t(language, "staff_tools.staff.list_admin", who=label))
        elif entry.source == "settings":
            lines.append(t(language, "staff_tools.staff.list_settings", who=label))
        else:
            assert entry.added_by is not None and entry.added_at is not None
            adder = added_by.get(entry.added_by)
            by = who(translator, language, entry.added_by, adder[1] if adder else None)
            lines.append(t(language, "staff_tools.staff.list_chat", who=label, added_by=by, date=entry.added_at.strftime("%Y-%m-%d")))
    return "\n".join(lines)
