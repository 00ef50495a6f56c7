"""Staff side: review cards, decisions, queue and search, reasons, codes, the lucky draw, staff admin.

Every staff update goes through one PTB handler (`staff_handlers`) into `staff.router`, which
runs it as one unit of work on the engine customers use (bot/turns.py). Each feature module
lists its `COMMANDS`; the review card's buttons go to `staff.decisions`. `register_outbox`
registers the card's outbox renderer (staff/cards.py).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.config import Settings
from bot.context import BotContext
from bot.outbox import OutboxDispatcher
from staff import admin, cards, codes, controls, decisions, draw, exports, fulfilment, queue, reasons, support
from staff.router import StaffEntry, StaffRouter


def staff_router(settings: Settings) -> StaffRouter:
    commands = [
        *decisions.COMMANDS,
        *queue.COMMANDS,
        *reasons.COMMANDS,
        *admin.COMMANDS,
        *codes.COMMANDS,
        *draw.COMMANDS,
        *support.COMMANDS,
        *fulfilment.COMMANDS,
        *exports.COMMANDS,
        *controls.COMMANDS,
    ]
    return StaffRouter(
        settings, commands, decisions.on_card_button, decisions.on_redelivered_button, on_reply=support.on_reply
    )


def staff_handlers(settings: Settings) -> list[BaseHandler[Update, BotContext, None]]:
    """The staff side's one handler. It comes before the customer's handlers, so that a customer
    typing a staff command is refused (and audited) instead of being routed, and a staff button
    (`s:`, also one of an old card) never reaches the customer's router."""
    return [StaffEntry(staff_router(settings))]


def register_outbox(dispatcher: OutboxDispatcher) -> None:
    cards.register_outbox(dispatcher)
    support.register_outbox(dispatcher)
