"""A drawn prize waits for its winner's answer: the states in `Draw.answers`, the deadline, and the
"Claim my prize" button, queued as the customer's `prize` action with the draw's id."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import Draw, Member, Promotion

WAITING, ANSWERED, LAPSED, SKIPPED = "waiting", "answered", "lapsed", "skipped"
CLAIM_ACTION = "prize"  # the customer's action that works at any step (conversations/prize.py takes it)
PROOF_ACTION = "drawproof"  # the customer's "how can I check the draw?" (conversations/prize.py)


def proof_buttons(draw_id: int) -> outbox.Buttons:
    """ "How can I check the draw?": the `drawproof` action with the draw's id. The seed and its hash
    are shown to whoever asks, not pasted as 64 hex characters into every entrant's message."""
    return [[("draw_proof.button", PROOF_ACTION, draw_id)]]


def claim_buttons(draw_id: int) -> outbox.Buttons:
    """The winner's "Claim my prize" button: the `prize` action with the draw's id, so it works
    from the old message whatever the customer is doing then."""
    return [[("prize.button", CLAIM_ACTION, draw_id)]]


def _zone(promotion: Promotion) -> ZoneInfo:
    try:
        return ZoneInfo(promotion.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def zone_name(promotion: Promotion) -> str:
    return _zone(promotion).key


def answer_deadline(promotion: Promotion, since: datetime) -> datetime:
    """When a winner told at `since` must have answered by: the end of the day, in the promotion's
    time zone, `draw_answer_days` days later (returned in UTC)."""
    zone = _zone(promotion)
    last_day = since.astimezone(zone).date() + timedelta(days=promotion.draw_answer_days or 14)
    return datetime.combine(last_day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)


def last_answer_day(promotion: Promotion, deadline: datetime) -> date:
    """The last calendar day (promotion's time zone) on which the answer counts."""
    return (deadline.astimezone(_zone(promotion)) - timedelta(microseconds=1)).date()


def deadline_values(promotion: Promotion, row: Draw, order_id: str) -> dict[str, Any]:
    """The last day to answer for `order_id`, as a date the bot writes in the reader's language."""
    entry = (row.answers or {}).get(order_id) or {}
    since = row.drawn_at or row.committed_at
    deadline = datetime.fromisoformat(entry["deadline"]) if entry.get("deadline") else answer_deadline(promotion, since)
    return {"deadline": {"$date": last_answer_day(promotion, deadline).isoformat()}, "timezone": zone_name(promotion)}


def _due(answers: dict[str, Any]) -> datetime | None:
    """The earliest deadline of a winner still waiting, for `Draw.answer_due_at`."""
    deadlines = [datetime.fromisoformat(e["deadline"]) for e in answers.values() if e.get("state") == WAITING]
    return min(deadlines) if deadlines else None


def store(row: Draw, answers: dict[str, Any]) -> None:
    """A fresh copy each time, so the JSON column is always seen as changed."""
    row.answers = {order_id: dict(entry) for order_id, entry in answers.items()}
    row.answer_due_at = _due(answers)


async def locked(session: AsyncSession, draw_id: int) -> Draw | None:
    """The draw, locked while its answers change (a second process waits, then sees the change)."""
    query = select(Draw).where(Draw.id == draw_id).with_for_update().execution_options(populate_existing=True)
    row: Draw | None = await session.scalar(query)
    return row


def who(member: Member) -> dict[str, Any]:
    """The member as staff read them: name and @username, or name and Telegram id."""
    name = " ".join(part for part in (member.first_name, member.last_name) if part) or str(member.telegram_user_id)
    if member.username:
        return {"$key": "prize.staff.member_username", "values": {"name": name, "username": member.username}}
    return {"$key": "prize.staff.member_id", "values": {"name": name, "user_id": member.telegram_user_id}}
