"""Which language to answer a user in: their saved choice, else Telegram's hint."""

from __future__ import annotations

from telegram import Update

from bot.services import Services
from storage import members
from storage.db import unit_of_work


async def language_of(services: Services, update: Update) -> str:
    """The member's saved language, or the one their Telegram app reports."""
    user = update.effective_user
    if user is None:
        return services.translator.default_language
    async with unit_of_work(services.sessions) as session:
        saved = await members.saved_language(session, user.id)
    return saved or services.translator.resolve(user.language_code)
