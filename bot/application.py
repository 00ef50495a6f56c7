"""The composition root: builds the Application and lists every handler in order."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot import replies
from bot.context import BotContext
from bot.edited import edited_message_handler
from bot.errors import on_error
from bot.services import Services
from bot.transport import AiohttpRequest
from bot.update_processor import PerUserOrderProcessor
from conversations import customer_handlers
from staff import staff_handlers

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]


def build_application(services: Services) -> BotApplication:
    """Wires transport, concurrency, context type and handlers; starts nothing."""
    settings = services.settings
    proxy, trust_env = settings.bot_api_proxy, settings.bot_api_trust_env
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_file_url)
        .request(
            AiohttpRequest(
                connection_pool_size=settings.bot_api_pool_size,
                pool_timeout=settings.bot_api_pool_timeout_seconds,
                proxy=proxy,
                trust_env=trust_env,
            )
        )
        .get_updates_request(AiohttpRequest(connection_pool_size=2, proxy=proxy, trust_env=trust_env))
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(PerUserOrderProcessor(max_concurrent_updates=256))
        .arbitrary_callback_data(False)
        .build()
    )
    application.bot_data["services"] = services
    replies.install(application, settings.reply_rate_per_second)

    # PTB runs the first matching handler of a group, so order matters within group 0:
    # 0. edited messages: never an answer to the current question nor a command to run again
    #    (PTB's CommandHandler and MessageHandler would take them as new), see bot/edited.py.
    # 1. staff commands and buttons ("s:" callbacks), in the staff group and private chats:
    #    one entry (staff/router.py), one unit of work per update. They come first so a staff
    #    command typed by a customer is refused and audited, and so staff buttons are never
    #    mistaken for a customer's step (DESIGN: a ConversationHandler keyed per user would not
    #    route a button pressed by another).
    # 2. the customer's router, which takes every other private message and button,
    #    commands included, so a command typed mid-journey is answered, not lost.
    for handler in [edited_message_handler(), *staff_handlers(settings), *customer_handlers()]:
        application.add_handler(handler)

    application.add_error_handler(on_error)
    return application
