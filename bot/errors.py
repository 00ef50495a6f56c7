"""The last line of defence: log the failure with its update, tell the user politely."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot.context import BotContext
from bot.language import language_of

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Logs the error with the update and answers in the user's language, never a traceback."""
    if isinstance(context.error, Forbidden):  # the user blocked the bot: a fact of life, not a bug
        log.warning(
            "chat of update %s cannot be reached: %s",
            update.update_id if isinstance(update, Update) else update,
            context.error,
        )
        return
    log.error(
        "error while handling update %s",
        update.to_dict() if isinstance(update, Update) else update,
        exc_info=context.error,
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    services = context.services
    try:
        language = await language_of(services, update)
    except Exception:  # noqa: BLE001 - the database may be what failed; answer anyway
        language = services.translator.resolve(update.effective_user.language_code if update.effective_user else None)
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):  # maybe answered already, or too late
            await update.callback_query.answer()
    try:
        await context.bot.send_message(update.effective_chat.id, services.translator.t(language, "errors.generic"))
    except TelegramError:
        log.warning("could not tell chat %s about the error", update.effective_chat.id)
