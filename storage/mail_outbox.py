"""The outbox's e-mail channel: mails committed with the change that caused them, sent by bot/mailer.py.

A mail is queued as locale keys and values in the recipient's language, like a Telegram
announcement, and rendered (plain text + HTML) only when it is sent. Values listed in the
payload's `secret` (a verification code) are wiped once the mail went out, so the database keeps
only the code's hash. Any process may send: a row goes PENDING -> SENDING by compare-and-set
right before its SMTP transaction; one left SENDING by a crash is sent again after STUCK_AFTER.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MailMessage, Member, OutboxStatus

STUCK_AFTER = timedelta(minutes=5)  # a SENDING row this old lost its sender (crashed mid-send)


async def enqueue(
    session: AsyncSession,
    *,
    member: Member,
    to_address: str,
    kind: str,
    key: str,
    values: dict[str, Any],
    now: datetime,
    secret: tuple[str, ...] = (),
) -> MailMessage:
    """Queues a mail (`key`.subject / `key`.body in the member's language); sent only if the transaction commits."""
    message = MailMessage(
        member_id=member.id,
        chat_id=member.chat_id,
        to_address=to_address,
        kind=kind,
        payload={"key": key, "language": member.language, "values": values, "secret": list(secret)},
        status=OutboxStatus.PENDING,
        attempts=0,
        not_before=now,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    return message


async def due(session: AsyncSession, now: datetime, limit: int = 20) -> list[MailMessage]:
    """Pending mails whose time has come, oldest first; a row left SENDING too long counts as pending."""
    stuck = (MailMessage.status == OutboxStatus.SENDING) & (MailMessage.claimed_at <= now - STUCK_AFTER)
    pending = (MailMessage.status == OutboxStatus.PENDING) & (MailMessage.not_before <= now)
    rows = await session.scalars(select(MailMessage).where(pending | stuck).order_by(MailMessage.id).limit(limit))
    return list(rows.all())


async def start_sending(session: AsyncSession, message_id: int, now: datetime) -> bool:
    """Compare-and-set to SENDING; False when another process took it first."""
    stuck = (MailMessage.status == OutboxStatus.SENDING) & (MailMessage.claimed_at <= now - STUCK_AFTER)
    result = await session.execute(
        update(MailMessage)
        .where(MailMessage.id == message_id, (MailMessage.status == OutboxStatus.PENDING) | stuck)
        .values(status=OutboxStatus.SENDING, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _scrubbed(payload: dict[str, Any]) -> dict[str, Any]:
    values = {k: ("—" if k in payload.get("secret", []) else v) for k, v in dict(payload.get("values") or {}).items()}
    return {**payload, "values": values}


async def mark_sent(session: AsyncSession, message_id: int, now: datetime) -> None:
    message = await session.get(MailMessage, message_id)
    if message is not None:
        message.status, message.sent_at, message.attempts = OutboxStatus.SENT, now, message.attempts + 1
        message.payload = _scrubbed(message.payload)


async def mark_retry(session: AsyncSession, message_id: int, not_before: datetime, error: str) -> None:
    message = await session.get(MailMessage, message_id)
    if message is not None:
        message.status, message.not_before, message.last_error = OutboxStatus.PENDING, not_before, error
        message.attempts += 1


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> MailMessage | None:
    message = await session.get(MailMessage, message_id)
    if message is not None:
        message.status, message.last_error, message.attempts = OutboxStatus.FAILED, error, message.attempts + 1
        message.payload = _scrubbed(message.payload)
    return message


async def forget_member(session: AsyncSession, member_id: int) -> None:
    """/deleteme: the member's mails (sent or not) name their address; they go."""
    await session.execute(delete(MailMessage).where(MailMessage.member_id == member_id))


async def copy_decision(
    session: AsyncSession, member: Member, key: str, values: dict[str, Any], now: datetime
) -> MailMessage | None:
    """The e-mailed copy of a decision message (order id, activation code…), for a member who
    opted in and whose address is verified and deliverable; None when no copy is due."""
    if not (member.email_copies and member.email and member.email_verified_at and not member.email_undeliverable_at):
        return None
    return await enqueue(
        session,
        member=member,
        to_address=member.email,
        kind="decision",
        key="email.decision",
        values={"order_id": values.get("order_id", ""), "decision": {"$key": key, "values": values}},
        now=now,
    )
