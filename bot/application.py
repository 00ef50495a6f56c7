"""The composition root: builds the Application and lists every handler in order."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.context import BotContext
from bot.errors import on_error
from bot.services import Services
from bot.transport import AiohttpRequest
from bot.update_processor import PerUserOrderProcessor
from conversations import customer_handlers

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]


def build_application(services: Services) -> BotApplication:
    """Wires transport, concurrency, context type and handlers; starts nothing."""
    settings = services.settings
    application = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_file_url)
        .request(AiohttpRequest(connection_pool_size=128))
        .get_updates_request(AiohttpRequest(connection_pool_size=2))
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(PerUserOrderProcessor(max_concurrent_updates=256))
        .arbitrary_callback_data(False)
        .build()
    )
    application.bot_data["services"] = services

    # Group 0 is the customer's journey. PTB runs the first matching handler of a group,
    # so inside it commands come before the catch-all step router (see conversations/).
    for handler in customer_handlers():
        application.add_handler(handler)

    application.add_error_handler(on_error)  # type: ignore[arg-type]
    return application  # type: ignore[return-value]
