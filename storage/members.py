"""Members: the customer's profile, keyed by Telegram user id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member


async def by_telegram_id(session: AsyncSession, telegram_user_id: int) -> Member | None:
    return await session.scalar(select(Member).where(Member.telegram_user_id == telegram_user_id))


async def saved_language(session: AsyncSession, telegram_user_id: int) -> str | None:
    """The language the member chose, if they are a member."""
    return await session.scalar(select(Member.language).where(Member.telegram_user_id == telegram_user_id))
