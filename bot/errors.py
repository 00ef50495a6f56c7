"""The last line of defence: log the failure with its update, tell the user politely."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.context import BotContext
from bot.language import language_of

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Logs the error with the update and answers in the user's language, never a traceback."""
    log.error("error while handling update %s", update.to_dict() if isinstance(update, Update) else update, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(context.error, Forbidden):
        return
    services = context.services
    language = await language_of(services, update)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, services.translator.t(language, "errors.generic"))
    except TelegramError:
        log.warning("could not tell chat %s about the error", update.effective_chat.id)
