"""Conversation state: where a user is in a journey and what they answered so far."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState


async def load(session: AsyncSession, user_id: int) -> ConversationState | None:
    return await session.get(ConversationState, user_id)


async def save(
    session: AsyncSession, *, user_id: int, chat_id: int, flow: str, step: str, data: dict[str, Any], now: datetime
) -> ConversationState:
    """Upserts the state; `data` is replaced as a whole so the JSON change is always seen."""
    state = await session.get(ConversationState, user_id)
    if state is None:
        state = ConversationState(
            user_id=user_id, chat_id=chat_id, flow=flow, step=step, data=dict(data), updated_at=now
        )
        session.add(state)
    else:
        state.chat_id, state.flow, state.step, state.data, state.updated_at = chat_id, flow, step, dict(data), now
        state.reminded_at = None
    await session.flush()
    return state


async def clear(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(ConversationState).where(ConversationState.user_id == user_id))


async def due_for_reminder(
    session: AsyncSession, *, now: datetime, idle_for: timedelta, limit: int = 100
) -> list[ConversationState]:
    """Journeys left idle for `idle_for` that have not been reminded since the last answer."""
    query = (
        select(ConversationState)
        .where(ConversationState.updated_at <= now - idle_for, ConversationState.reminded_at.is_(None))
        .order_by(ConversationState.updated_at)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def mark_reminded(session: AsyncSession, user_id: int, now: datetime) -> None:
    state = await session.get(ConversationState, user_id)
    if state is not None:
        state.reminded_at = now
