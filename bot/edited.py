"""Edited messages: Telegram sends an edit of an earlier message as an update of its own.

It is never an answer to the question being asked now, nor a command to run again: the
customer who edits the e-mail while the bot asks for the first name would otherwise give the
e-mail as the first name. Nothing changes; the person is told, in one line, how to change an
earlier answer instead.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.context import BotContext
from bot.language import language_of
from bot.replies import send_html


def _addressed_to_bot(update: Update) -> bool:
    """Private chats: every message. Groups (the staff chat): commands, also as a document's
    caption (/codes import); other group talk is not for the bot, edited or not."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return False
    return chat.type == chat.PRIVATE or (message.text or message.caption or "").startswith("/")


async def on_edited_message(update: Update, context: BotContext) -> None:
    """Changes nothing and says how to change an earlier answer."""
    chat = update.effective_chat
    if chat is None or not _addressed_to_bot(update):
        return
    services = context.services
    text = services.translator.t(await language_of(services, update), "edits.not_an_answer")
    await send_html(context, chat.id, text)


def edited_message_handler() -> MessageHandler[BotContext, None]:
    """Takes every edited message, so that no later handler ever sees one."""
    return MessageHandler(filters.UpdateType.EDITED, on_edited_message)
