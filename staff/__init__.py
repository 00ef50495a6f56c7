"""Staff side: review cards, decisions, queue and search, codes, the lucky draw, staff admin.

Each feature module has `handlers() -> list[BaseHandler]` and may have
`register_outbox(dispatcher)` for messages it renders at send time (e.g. the review card).
"""

from __future__ import annotations

from types import ModuleType

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.outbox import OutboxDispatcher
from bot.replies import answer_query
from staff import admin, codes, draw, queue, reasons, review

FEATURES: tuple[ModuleType, ...] = (review, queue, reasons, admin, codes, draw)


def staff_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Staff commands and buttons. They come before the customer's handlers, so that a
    customer typing a staff command is refused (and audited) instead of being routed.
    The last one catches staff buttons no feature recognises (an old card's), so they never
    reach the customer's router."""
    return [*(handler for feature in FEATURES for handler in feature.handlers()), CallbackQueryHandler(_unknown_staff_button, pattern=r"^s:")]


async def _unknown_staff_button(update: Update, context: BotContext) -> None:
    """A staff button from a message whose feature no longer knows it."""
    assert update.callback_query is not None
    await answer_query(update.callback_query, context.services.translator.t(context.services.settings.default_language, "errors.stale_button"), alert=True)


def register_outbox(dispatcher: OutboxDispatcher) -> None:
    for feature in FEATURES:
        if hasattr(feature, "register_outbox"):
            feature.register_outbox(dispatcher)
