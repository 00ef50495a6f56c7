"""Conversation state: where a user is in a journey and what they answered so far.

On the hot path each update reads the member and the state in one statement
(`member_and_state`) and writes the state in one (`save`, an upsert): round trips, not rows,
are what an update costs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState, Member
from storage.upsert import cached_upsert


async def load(session: AsyncSession, user_id: int) -> ConversationState | None:
    return await session.get(ConversationState, user_id)


async def member_and_state(session: AsyncSession, user_id: int) -> tuple[Member | None, ConversationState | None]:
    """The member (by Telegram user id) and their journey's state, either possibly absent, in one
    statement: both outer-joined to a one-row key."""
    row = (await session.execute(_MEMBER_AND_STATE, {"user_id": user_id})).one()
    return row[0], row[1]


def _member_and_state() -> Select[tuple[Member, ConversationState]]:
    """Built once: every update runs it, and building it (then its cache key) cost more than the read."""
    key = select(bindparam("user_id", type_=BigInteger).label("user_id")).subquery()
    return (
        select(Member, ConversationState)
        .select_from(key)
        .outerjoin(Member, Member.telegram_user_id == key.c.user_id)
        .outerjoin(ConversationState, ConversationState.user_id == key.c.user_id)
    )


_MEMBER_AND_STATE = _member_and_state()


async def save(
    session: AsyncSession, *, user_id: int, chat_id: int, flow: str, step: str, data: dict[str, Any], now: datetime
) -> ConversationState:
    """Upserts the state in one statement; `data` is replaced as a whole, and the returned row
    refreshes the session's copy (so a later `load` in this unit of work sees it). The statement
    is built once (storage.upsert.cached_upsert): every step of every journey runs it."""
    values = {"chat_id": chat_id, "flow": flow, "step": step, "data": dict(data), "updated_at": now}
    values["reminded_at"] = None  # an answer starts the idle time anew
    statement = cached_upsert(ConversationState.__table__, _COLUMNS, ("user_id",), _COLUMNS[1:], _COLUMNS)
    orm = select(ConversationState).from_statement(statement)
    result = await session.scalars(orm, {"user_id": user_id, **values}, execution_options={"populate_existing": True})
    state: ConversationState = result.one()
    return state


_COLUMNS = ("user_id", "chat_id", "flow", "step", "data", "updated_at", "reminded_at")


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
