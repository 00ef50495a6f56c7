"""Customer journeys: each module turns updates into service calls and renders replies."""

from __future__ import annotations

from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from conversations import (
    common,
    faq,
    mydata,
    prize,
    products,
    profile,
    promotions,
    redeem,
    register,
    status,
    support,
)
from conversations.replies import MENU_COMMANDS
from conversations.router import Router


def build_router() -> Router:
    """Every command, global button and journey of the customer's private chat."""
    router = Router(menu=dict(MENU_COMMANDS), fallback=common.not_understood)
    router.commands |= {"cancel": common.cancel, "help": common.help_command}
    router.actions["resume"] = common.resume_action(router)
    for feature in (profile, register, products, faq, redeem, promotions, status, mydata, prize, support):
        feature.setup(router)
    return router


def customer_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Private-chat handlers. The router takes every new message and button of a private chat,
    commands included, so that a command typed mid-journey is answered, not lost. An edited
    message is not new: it never reaches the router (bot/edited.py answers it)."""
    router = build_router()
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(filters.UpdateType.MESSAGE & private & ~filters.StatusUpdate.ALL, router.handle),
        CallbackQueryHandler(router.handle),
    ]
