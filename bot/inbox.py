"""Redelivered updates on the staff side, and the periodic clean-up of the update inbox.

The customer's router claims an update inside its one unit of work (conversations/router.py).
A staff press is not one unit of work: a decision commits, then the card is edited, then the
answer is sent. So a staff update is recorded as processed only after its handler finished,
replies included. A redelivery of a finished update is then skipped without losing anything
(its answer already went out); one that comes after a crash in the middle runs again, and the
staff services are idempotent for that (a decision is a compare-and-set, so the second run says
"already decided by you at …"; a staff member or a reason is added once; codes are
deduplicated; a draw refuses a second commitment), which also tells staff the outcome they
may never have seen.
"""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import TelegramError

from bot.services import Services
from storage import updates
from storage.db import unit_of_work


async def already_processed(services: Services, update: Update) -> bool:
    """True for a redelivery of a staff update that ran to its end; a pressed button is
    answered so the staff member's client stops waiting."""
    async with unit_of_work(services.sessions) as session:
        seen = await updates.is_processed(session, update.update_id)
    if seen and update.callback_query is not None:
        with contextlib.suppress(TelegramError):  # answered by the first delivery, or too late
            await update.callback_query.answer()
    return seen


async def mark_processed(services: Services, update: Update) -> None:
    """Records a staff update whose handler finished, replies included."""
    async with unit_of_work(services.sessions) as session:
        await updates.claim_update(session, update.update_id, services.clock.now())


async def prune_processed_updates(services: Services) -> int:
    """The runtime's hourly job: forgets update ids Telegram can no longer redeliver."""
    async with unit_of_work(services.sessions) as session:
        return await updates.prune_updates(session, services.clock.now())
