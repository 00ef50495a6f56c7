"""One reminder for a journey left unfinished, sent through the outbox."""

from __future__ import annotations

from datetime import timedelta

from bot.services import Services
from locales import load_catalogue
from storage import conversations, members, outbox
from storage.db import unit_of_work


async def send_due_reminders(services: Services) -> int:
    """Queues a 'continue where you left off' message for each idle journey; returns how many."""
    now = services.clock.now()
    idle_for = timedelta(hours=services.settings.reminder_delay_hours)
    t = services.translator
    async with unit_of_work(services.sessions) as session:
        states = await conversations.due_for_reminder(session, now=now, idle_for=idle_for)
        for state in states:
            member = await members.by_telegram_id(session, state.user_id)
            language = member.language if member is not None else str(state.data.get("language") or t.default_language)
            key = f"reminders.{state.flow}" if f"reminders.{state.flow}" in load_catalogue("en") else "reminders.other"
            await outbox.enqueue(
                session,
                chat_id=state.chat_id,
                kind="reminder",
                key=key,
                language=language,
                now=now,
                buttons=[[("reminders.continue", "resume", None)]],
            )
            await conversations.mark_reminded(session, state.user_id, now)
    return len(states)
