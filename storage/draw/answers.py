"""A winner presses "Claim my prize": within the deadline the answer is recorded and staff are told."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.draw.entrants import announce
from storage.draw.state import ANSWERED, SKIPPED, WAITING, last_answer_day, locked, store, who
from storage.models import Claim, Member, Promotion
from storage.texts import promotion_name


class Answer(enum.StrEnum):
    CLAIMED = "claimed"  # recorded now
    ALREADY = "already"  # answered before
    EXPIRED = "expired"  # the deadline passed (the prize went, or goes, to a reserve)
    NOT_WINNER = "not_winner"  # no winning entry of this member in that draw


@dataclass
class AnswerOutcome:
    result: Answer
    promotion: Promotion | None = None
    order_ids: list[str] = field(default_factory=list)
    deadline: date | None = None  # the last day to answer (the earliest one of the entries)


async def answer(
    session: AsyncSession,
    draw_id: int,
    member: Member,
    now: datetime,
    *,
    staff_chat_id: int | None = None,
    staff_language: str = "en",
) -> AnswerOutcome:
    """The winner pressed "Claim my prize": within the deadline it is recorded and staff are told."""
    row = await locked(session, draw_id)
    if row is None or row.drawn_at is None or not row.answers:
        return AnswerOutcome(Answer.NOT_WINNER)
    promotion = await session.get(Promotion, row.promotion_id)
    assert promotion is not None
    order_ids = list(row.answers)
    mine = set(
        await session.scalars(select(Claim.order_id).where(Claim.order_id.in_(order_ids), Claim.member_id == member.id))
    )
    entries = {o: dict(entry) for o, entry in row.answers.items() if o in mine and entry.get("state") != SKIPPED}
    if not entries:
        return AnswerOutcome(Answer.NOT_WINNER, promotion)
    waiting = [o for o, e in entries.items() if e["state"] == WAITING and datetime.fromisoformat(e["deadline"]) > now]
    if not waiting:
        answered = [o for o, e in entries.items() if e["state"] == ANSWERED]
        if answered:
            return AnswerOutcome(Answer.ALREADY, promotion, answered)
        return AnswerOutcome(Answer.EXPIRED, promotion, list(entries))
    answers = {order_id: dict(entry) for order_id, entry in row.answers.items()}
    for order_id in waiting:
        answers[order_id] |= {"state": ANSWERED, "answered_at": now.isoformat()}
    store(row, answers)
    details = {"draw_id": row.id, "order_ids": waiting}
    await audit.record(
        session,
        now=now,
        actor_user_id=member.telegram_user_id,
        action="draw.answered",
        subject=promotion.slug,
        details=details,
    )
    values = {
        "promotion": promotion_name(promotion, staff_language),
        "slug": promotion.slug,
        "draw_id": row.id,
        "order_ids": {"$list": waiting},
        "member": who(member),
    }
    await announce(session, "prize.staff.claimed", values, staff_chat_id, staff_language, now)
    deadline = min(datetime.fromisoformat(entries[o]["deadline"]) for o in waiting)
    return AnswerOutcome(Answer.CLAIMED, promotion, waiting, last_answer_day(promotion, deadline))
