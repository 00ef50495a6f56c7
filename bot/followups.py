"""The background job behind storage.followups: customer half-time notes and the staff digest."""

from __future__ import annotations

from bot.services import Services
from storage import followups
from storage.db import unit_of_work


async def run_followups(services: Services) -> int:
    """Queues what is due now; the outbox sends it."""
    settings = services.settings
    now = services.clock.now()
    async with unit_of_work(services.sessions) as session:
        count = await followups.queue_halfway_notices(session, now)
        if await followups.queue_daily_digest(
            session, now, settings.staff_chat_id, settings.default_language, settings.digest_hour_utc
        ):
            count += 1
    return count
