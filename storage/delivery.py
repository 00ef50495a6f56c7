"""Messages that can never be delivered: the member is marked, staff are told (through the outbox).

The bot's dispatcher (bot/outbox.py) reads Telegram's answer and tells this module only the
domain fact, an `Unreachable` reason: the person blocked the bot, their account is deactivated,
they never started the bot, or the chat does not exist. The dispatcher marks such a message failed
for good (it is never retried) and calls `record_undeliverable` in the same transaction:

* the member of that chat gets `bot_blocked_at` (kept from the first failure on, until whoever
  handles their next message clears it), and `delivery.undeliverable` goes to the audit log;
* the staff chat is told once per member — when `bot_blocked_at` was not set yet — with the
  member's name, e-mail, the reason (a locale key, rendered for staff at send time), and the
  order ID the failed message was about, if any; a chat with no member behind it is reported
  every time. Failures to the staff chat itself are only
  logged, never reported to it (that could not arrive either).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, outbox
from storage.models import Member


class Unreachable(enum.StrEnum):
    """Why a chat can receive nothing from the bot any more (staff read it as `delivery.unreachable.<value>`)."""

    BLOCKED = "blocked"  # the person blocked the bot
    DEACTIVATED = "deactivated"  # their account is gone
    NOT_STARTED = "not_started"  # they never opened a chat with the bot
    CHAT_NOT_FOUND = "chat_not_found"


def _order_of(values: dict[str, Any]) -> str:
    """The order ID(s) the failed message was about: a plain value, or a queued {"$list": [...]}."""
    found = values.get("order_id") or values.get("order_ids") or ""
    if isinstance(found, dict):
        found = ", ".join(str(item) for item in found.get("$list") or [])
    return str(found)


async def record_undeliverable(
    session: AsyncSession,
    *,
    chat_id: int,
    reason: Unreachable,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    staff_chat_id: int | None,
    staff_language: str,
) -> Member | None:
    """Marks the member of `chat_id` unreachable and queues one notice for staff; returns the member."""
    member = await session.scalar(select(Member).where(Member.chat_id == chat_id).order_by(Member.id).limit(1))
    first_time = member is None or member.bot_blocked_at is None
    if member is not None and member.bot_blocked_at is None:
        member.bot_blocked_at = now
    order_id = _order_of(dict(payload.get("values") or {}))
    await audit.record(
        session,
        now=now,
        actor_user_id=None,
        action="delivery.undeliverable",
        subject=str(chat_id),
        details={
            "reason": reason.value,
            "kind": kind,
            "member_id": member.id if member else None,
            "order_id": order_id or None,
        },
    )
    if staff_chat_id is None or chat_id == staff_chat_id or not first_time:
        return member
    name = " ".join(part for part in ((member.first_name, member.last_name) if member else ()) if part) or "—"
    notice = {
        "name": name,
        "user_id": member.telegram_user_id if member else chat_id,
        "email": (member.email if member else None) or "—",
        "error": {"$key": f"delivery.unreachable.{reason.value}"},
    }
    key = "staff_tools.delivery.undeliverable_order" if order_id else "staff_tools.delivery.undeliverable"
    if order_id:
        notice["order_id"] = order_id
    await outbox.enqueue(
        session, chat_id=staff_chat_id, kind="staff_notice", key=key, language=staff_language, values=notice, now=now
    )
    return member
