"""The timed job: a winner who did not answer in time gives way to the first reserve still eligible."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import audit, outbox
from storage.draw.entrants import announce, prize_text, why_out, won_before
from storage.draw.state import LAPSED, SKIPPED, WAITING, answer_deadline, claim_buttons, deadline_values, locked, store
from storage.models import Claim, ClaimStatus, Draw, Member, Promotion
from storage.texts import promotion_name


@dataclass
class Replacement:
    draw_id: int
    lapsed: str  # the winner who did not answer
    winner: str | None  # the reserve called in; None when no reserve was left
    rank: int | None = None
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reserves passed over, with why


async def _reserve_out(
    session: AsyncSession, order_id: str, promotion: Promotion, now: datetime, won: set[str]
) -> list[str]:
    """Why reserve `order_id` cannot be called in now: the entrant rules of the draw, again."""
    claim = await session.scalar(select(Claim).where(Claim.order_id == order_id).options(selectinload(Claim.items)))
    if claim is None:
        return ["claim_missing"]
    why = []
    if claim.promotion_id != promotion.id:
        why.append("claim_missing")
    if claim.status != ClaimStatus.APPROVED:
        why.append("not_approved")
    if claim.lucky_draw_opt_in is not True:
        why.append("opted_out")
    return why + await why_out(session, claim, promotion, now, won)


async def _member_of(session: AsyncSession, order_id: str) -> Member | None:
    member = await session.scalar(
        select(Member).join(Claim, Claim.member_id == Member.id).where(Claim.order_id == order_id)
    )
    return member if member is not None and member.deleted_at is None else None


async def _replace_in(
    session: AsyncSession,
    row: Draw,
    promotion: Promotion,
    now: datetime,
    staff_chat_id: int | None,
    staff_language: str,
) -> list[Replacement]:
    answers = {order_id: dict(entry) for order_id, entry in (row.answers or {}).items()}
    won = await won_before(session, promotion, besides=row.id)
    ranks = {order_id: rank for rank, order_id in enumerate(row.reserves or [], start=1)}
    lapsing = [
        order_id
        for order_id in [*(row.winners or []), *(row.reserves or [])]
        if answers.get(order_id, {}).get("state") == WAITING
        and datetime.fromisoformat(answers[order_id]["deadline"]) <= now
    ]
    done: list[Replacement] = []
    for lapsed in lapsing:
        replacement = Replacement(row.id, lapsed, None)
        for candidate in row.reserves or []:
            if candidate in answers:  # called in, or skipped, before: each reserve is used once
                continue
            why = await _reserve_out(session, candidate, promotion, now, won)
            if why:
                answers[candidate] = {"state": SKIPPED, "rank": ranks[candidate], "at": now.isoformat(), "why": why}
                replacement.skipped[candidate] = why
                continue
            deadline = answer_deadline(promotion, now).isoformat()
            rank = ranks[candidate]
            answers[candidate] = {
                "state": WAITING,
                "rank": rank,
                "replaces": lapsed,
                "since": now.isoformat(),
                "deadline": deadline,
            }
            replacement.winner, replacement.rank = candidate, rank
            break
        answers[lapsed] |= {"state": LAPSED, "lapsed_at": now.isoformat(), "replaced_by": replacement.winner}
        store(row, answers)  # as we go: the messages below read the new winner's deadline
        await _tell_replacement(session, row, promotion, replacement, now, staff_chat_id, staff_language)
        done.append(replacement)
    return done


async def _tell_replacement(
    session: AsyncSession,
    row: Draw,
    promotion: Promotion,
    replacement: Replacement,
    now: datetime,
    staff_chat_id: int | None,
    staff_language: str,
) -> None:
    """The audit log, the lapsed winner, the reserve called in and the staff chat."""
    details = {
        "draw_id": row.id,
        "lapsed": replacement.lapsed,
        "winner": replacement.winner,
        "rank": replacement.rank,
        "skipped": replacement.skipped,
    }
    action = "draw.replaced" if replacement.winner else "draw.reserves_exhausted"
    await audit.record(session, now=now, actor_user_id=None, action=action, subject=promotion.slug, details=details)
    if (lapsed := await _member_of(session, replacement.lapsed)) is not None:
        values: dict[str, Any] = {
            "promotion": promotion_name(promotion, lapsed.language),
            "order_id": replacement.lapsed,
        }
        await outbox.enqueue(
            session,
            chat_id=lapsed.chat_id,
            kind="draw_result",
            key="prize.lapsed",
            language=lapsed.language,
            values=values,
            now=now,
        )
    staff_values: dict[str, Any] = {
        "promotion": promotion_name(promotion, staff_language),
        "slug": promotion.slug,
        "draw_id": row.id,
        "lapsed": replacement.lapsed,
        "skipped": {"$list": list(replacement.skipped)},
    }
    if replacement.winner is None:
        await announce(session, "prize.staff.exhausted", staff_values, staff_chat_id, staff_language, now)
        return
    if (winner := await _member_of(session, replacement.winner)) is not None:
        language = winner.language
        values = {
            "promotion": promotion_name(promotion, language),
            "order_id": replacement.winner,
            "rank": replacement.rank,
            "prize": prize_text(promotion, language),
            **deadline_values(promotion, row, replacement.winner),
        }
        await outbox.enqueue(
            session,
            chat_id=winner.chat_id,
            kind="draw_result",
            key="prize.promoted",
            language=language,
            values=values,
            buttons=claim_buttons(row.id),
            now=now,
        )
    staff_values |= {
        "winner": replacement.winner,
        "rank": replacement.rank,
        **deadline_values(promotion, row, replacement.winner),
    }
    await announce(session, "prize.staff.replaced", staff_values, staff_chat_id, staff_language, now)


async def replace_lapsed(
    session: AsyncSession, now: datetime, *, staff_chat_id: int | None = None, staff_language: str = "en"
) -> list[Replacement]:
    """The timed job: every winner whose deadline passed unanswered gives way to the next reserve.

    Only draws with a winner still waiting past their deadline are touched, each locked while it
    changes, so running it again (or in a second process) does nothing more."""
    query = select(Draw.id).where(Draw.answer_due_at.is_not(None), Draw.answer_due_at <= now)
    due = (await session.scalars(query.order_by(Draw.id))).all()
    done: list[Replacement] = []
    for draw_id in due:
        row = await locked(session, draw_id)
        if row is None or row.answer_due_at is None or row.answer_due_at > now:  # another process got there first
            continue
        promotion = await session.get(Promotion, row.promotion_id)
        assert promotion is not None
        done += await _replace_in(session, row, promotion, now, staff_chat_id, staff_language)
    return done
