"""The outbox: messages committed with the change that caused them, sent later by a dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, OutboxStatus

Buttons = list[list[tuple[str, str]]]  # rows of (label's locale key, callback_data)


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    key: str,
    language: str,
    now: datetime,
    values: dict[str, Any] | None = None,
    buttons: Buttons | None = None,
) -> OutboxMessage:
    """Queues a message as a locale key and its values; it is sent only if the transaction commits.

    The dispatcher renders it at send time, so storage never holds user-facing text.
    """
    payload: dict[str, Any] = {"key": key, "language": language, "values": values or {}, "buttons": [[list(b) for b in row] for row in buttons or []]}
    return await enqueue_kind(session, chat_id=chat_id, kind=kind, payload=payload, now=now)


async def enqueue_kind(session: AsyncSession, *, chat_id: int, kind: str, payload: dict[str, Any], now: datetime) -> OutboxMessage:
    """Queues a message whose renderer (registered for `kind` by the bot) builds it at send time."""
    message = OutboxMessage(chat_id=chat_id, kind=kind, payload=payload, status=OutboxStatus.PENDING, attempts=0, not_before=now, created_at=now)
    session.add(message)
    await session.flush()
    return message


async def claim_due(session: AsyncSession, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """Claims pending messages that are due, oldest first, keeping each chat's order.

    A chat whose oldest pending message must still wait (retry_after) gets nothing sent,
    so a later message never overtakes an earlier one. Claimed rows are SENDING; other
    dispatcher processes skip the rows locked here (FOR UPDATE SKIP LOCKED on PostgreSQL).
    """
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    waiting: set[int] = set()
    claimed: list[OutboxMessage] = []
    for message in (await session.scalars(query)).all():
        if message.chat_id in waiting or message.not_before > now:
            waiting.add(message.chat_id)
            continue
        message.status, message.claimed_at = OutboxStatus.SENDING, now
        claimed.append(message)
    return claimed


async def release(session: AsyncSession, message_id: int) -> None:
    """Puts a claimed message back in the queue unsent."""
    message = await session.get(OutboxMessage, message_id)
    if message is not None:
        message.status = OutboxStatus.PENDING


LEASE = timedelta(minutes=10)  # far longer than any send; a SENDING row older than this was orphaned


async def fail_interrupted(session: AsyncSession, now: datetime) -> int:
    """Messages left SENDING by a crashed dispatcher may have reached the user: never resend,
    mark them failed. Rows another live process claimed within the lease are left to it."""
    stale = or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < now - LEASE)
    rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENDING, stale))).all()
    for message in rows:
        message.status, message.last_error = OutboxStatus.FAILED, "interrupted while sending; not resent to avoid a duplicate"
    return len(rows)


async def mark_sent(session: AsyncSession, message_id: int, now: datetime, telegram_message_id: int | None = None) -> None:
    message = await session.get(OutboxMessage, message_id)
    if message is not None:
        message.status, message.sent_at, message.attempts = OutboxStatus.SENT, now, message.attempts + 1
        message.sent_message_id = telegram_message_id


async def mark_retry(session: AsyncSession, message_id: int, not_before: datetime, error: str, progress: dict[str, Any] | None = None) -> None:
    """Back in the queue for later; `progress` (e.g. the album went out) is kept for the retry."""
    message = await session.get(OutboxMessage, message_id)
    if message is not None:
        message.status = OutboxStatus.PENDING
        message.not_before, message.last_error, message.attempts = not_before, error, message.attempts + 1
        message.payload = {**message.payload, **(progress or {}), "_attempts": message.attempts}  # the backoff grows with it


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> None:
    message = await session.get(OutboxMessage, message_id)
    if message is not None:
        message.status, message.last_error, message.attempts = OutboxStatus.FAILED, error, message.attempts + 1
