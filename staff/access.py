"""Staff commands answer only staff (admins for some), in the staff group or a private chat.

Anyone else gets a polite "not allowed", the attempt is written to the audit log, and nothing
else happens.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from telegram import Update

from bot import inbox
from bot.context import BotContext
from bot.language import language_of
from bot.replies import answer_query, send_html
from storage import audit, staff
from storage.db import unit_of_work

StaffHandler = Callable[[Update, BotContext], Awaitable[None]]


async def is_staff(context: BotContext, user_id: int) -> bool:
    services = context.services
    async with unit_of_work(services.sessions) as session:
        return await staff.is_staff(session, user_id, services.settings.staff_ids)


def is_admin(context: BotContext, user_id: int) -> bool:
    return user_id in context.services.settings.admin_user_ids


def _in_staff_place(update: Update, context: BotContext) -> bool:
    chat = update.effective_chat
    return chat is not None and (chat.type == "private" or chat.id == context.services.settings.staff_chat_id)


async def refuse(update: Update, context: BotContext, what: str) -> None:
    """Tells the user they may not, and writes the attempt to the audit log."""
    services = context.services
    user = update.effective_user
    async with unit_of_work(services.sessions) as session:
        await audit.record(session, now=services.clock.now(), actor_user_id=user.id if user else None, action="staff.refused", subject=what, details={"chat_id": update.effective_chat.id if update.effective_chat else None})
    language = await language_of(services, update)
    text = services.translator.t(language, "staff.not_allowed")
    if update.callback_query is not None:
        await answer_query(update.callback_query, text, alert=True)
    elif update.effective_chat is not None:
        await send_html(context, update.effective_chat.id, text)


def staff_only(what: str, *, admin: bool = False) -> Callable[[StaffHandler], StaffHandler]:
    """Wraps a staff handler with the access check."""

    def wrap(handler: StaffHandler) -> StaffHandler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: BotContext) -> None:
            if await inbox.already_processed(context.services, update):  # a redelivery (bot/inbox.py)
                return
            user = update.effective_user
            allowed = user is not None and _in_staff_place(update, context) and (is_admin(context, user.id) if admin else await is_staff(context, user.id))
            if allowed:
                await handler(update, context)
            else:
                await refuse(update, context, what)
            await inbox.mark_processed(context.services, update)

        return guarded

    return wrap
