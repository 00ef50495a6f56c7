"""Staff side: review cards, decisions, queue and search, codes, the lucky draw, staff admin.

Each feature module has `handlers() -> list[BaseHandler]` and may have
`register_outbox(dispatcher)` for messages it renders at send time (e.g. the review card).
"""

from __future__ import annotations

from types import ModuleType

from telegram.ext import BaseHandler

from bot.outbox import OutboxDispatcher
from bot.staff import admin, codes, draw, queue, reasons, review

FEATURES: tuple[ModuleType, ...] = (review, queue, reasons, admin, codes, draw)


def staff_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Staff commands and buttons. They come before the customer's handlers, so that a
    customer typing a staff command is refused (and audited) instead of being routed."""
    return [handler for feature in FEATURES for handler in feature.handlers()]


def register_outbox(dispatcher: OutboxDispatcher) -> None:
    for feature in FEATURES:
        if hasattr(feature, "register_outbox"):
            feature.register_outbox(dispatcher)
