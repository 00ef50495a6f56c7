"""The periodic clean-up of the update inbox.

Every update, customer's or staff's, claims its id inside the one unit of work that applies it
(bot/turns.py `claimed_unit_of_work`), so a redelivery is recognised there. What is left here
is the runtime's hourly job that forgets ids Telegram can no longer redeliver (and refreshes
SQLite's planner statistics while it is at it).
"""

from __future__ import annotations

from bot.services import Services
from storage import updates
from storage.db import optimize, unit_of_work


async def prune_processed_updates(services: Services) -> int:
    """The runtime's hourly job: forgets update ids Telegram can no longer redeliver, then lets
    SQLite refresh the statistics its planner needs to pick the selective index (storage/db.py)."""
    async with unit_of_work(services.sessions) as session:
        pruned = await updates.prune_updates(session, services.clock.now())
    await optimize(services.sessions)
    return pruned
