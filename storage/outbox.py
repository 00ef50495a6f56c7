"""The outbox: messages committed with the change that caused them, sent later by a dispatcher."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, OutboxStatus

Button = tuple[str, str, str | int | None]  # (label's locale key, action name, its argument or None)
Buttons = list[list[Button]]  # rows of buttons; the bot turns each action into its messenger's button


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

    The dispatcher renders it at send time, so storage never holds user-facing text: values are
    plain or typed ({"$key": …}, {"$date": …}, {"$money": …}, {"$list": …}, {"$lines": …}, see
    bot/outbox.py `render_value`), and a button is an action the customer can take at any step,
    e.g. ("status.redeem_again", "again", order_id), never a messenger's callback string.
    """
    payload: dict[str, Any] = {
        "key": key,
        "language": language,
        "values": values or {},
        "buttons": [[list(b) for b in row] for row in buttons or []],
    }
    return await enqueue_kind(session, chat_id=chat_id, kind=kind, payload=payload, now=now)


async def enqueue_kind(
    session: AsyncSession, *, chat_id: int, kind: str, payload: dict[str, Any], now: datetime
) -> OutboxMessage:
    """Queues a message whose renderer (registered for `kind` by the bot) builds it at send time."""
    message = OutboxMessage(
        chat_id=chat_id,
        kind=kind,
        payload=payload,
        status=OutboxStatus.PENDING,
        attempts=0,
        not_before=now,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    return message


async def due_heads(
    session: AsyncSession,
    now: datetime,
    limit: int = 500,
    exclude: Collection[int] = (),
    among: Collection[int] | None = None,
) -> list[OutboxMessage]:
    """The oldest unsettled message of each chat, where it is pending and due, oldest first.

    A chat whose head is in flight (SENDING) or must still wait (retry_after, backoff) gets
    nothing, so exactly one message per chat is in flight and none overtakes an earlier one.
    `exclude` names chats the caller already holds a head of (fetched ahead, or in flight), so
    `limit` counts only heads it can use; `among`, when given, looks only at those chats.
    Nothing is marked here: a row goes to SENDING only just before its own request.
    """
    unsettled = OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
    heads = select(func.min(OutboxMessage.id)).where(unsettled)
    if exclude:
        heads = heads.where(OutboxMessage.chat_id.not_in(list(exclude)))
    if among is not None:
        heads = heads.where(OutboxMessage.chat_id.in_(list(among)))
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.id.in_(heads.group_by(OutboxMessage.chat_id).scalar_subquery()),
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.not_before <= now,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def start_sending(session: AsyncSession, message_id: int, owner: str, now: datetime) -> bool:
    """Compare-and-set PENDING -> SENDING, committed right before the request; False if another
    dispatcher took it first or it was settled meanwhile."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, claimed_at=now, claimed_by=owner)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def release(session: AsyncSession, message_id: int) -> None:
    """Puts a claimed message back in the queue unsent."""
    message = await session.get(OutboxMessage, message_id)
    if message is not None and message.status == OutboxStatus.SENDING:
        message.status = OutboxStatus.PENDING


async def requeue_in_flight(session: AsyncSession) -> int:
    """After a crash or a takeover: every SENDING row goes back to PENDING, to be sent again.

    Its request may or may not have reached Telegram; a missing announcement is worse than a
    repeated one, so the worst case is one duplicate of the message that was in flight. Only the
    dispatcher holding the outbox lease (storage/leases.py) calls this, so no live sender's
    row is taken from under it.
    """
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.PENDING, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def save_progress(session: AsyncSession, message_id: int, progress: dict[str, Any]) -> None:
    """Part of a message went out (e.g. a card's album): a resend after a crash skips it."""
    message = await session.get(OutboxMessage, message_id)
    if message is not None:
        message.payload = {**message.payload, **progress}


async def mark_sent(
    session: AsyncSession, message_id: int, now: datetime, telegram_message_id: int | None = None
) -> None:
    """Settles a sent message in one statement (it runs for every announcement, on the hot path)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=OutboxStatus.SENT,
            sent_at=now,
            attempts=OutboxMessage.attempts + 1,
            sent_message_id=telegram_message_id,
        )
        .execution_options(synchronize_session=False)
    )


async def mark_retry(
    session: AsyncSession, message_id: int, not_before: datetime, error: str, progress: dict[str, Any] | None = None
) -> None:
    """Back in the queue for later; `progress` (e.g. the album went out) is kept for the retry."""
    message = await session.get(OutboxMessage, message_id)
    if message is not None:
        message.status = OutboxStatus.PENDING
        message.not_before, message.last_error, message.attempts = not_before, error, message.attempts + 1
        message.payload = {
            **message.payload,
            **(progress or {}),
            "_attempts": message.attempts,
        }  # the backoff grows with it


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> None:
    message = await session.get(OutboxMessage, message_id)
    if message is not None:
        message.status, message.last_error, message.attempts = OutboxStatus.FAILED, error, message.attempts + 1
