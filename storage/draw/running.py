"""Running a draw: commit to a secret seed (`commit`), draw with it and reveal it (`draw`), or
withdraw the commitment (`cancel`); every entrant hears the result through the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, outbox
from storage.draw.entrants import (
    MAX_RESERVES,
    MAX_WINNERS,
    DrawError,
    DrawRefused,
    Entrants,
    announce,
    entrants,
    find_promotion,
    open_draw,
    prize_text,
)
from storage.draw.seed import Result, new_seed, replay, seed_hash
from storage.draw.state import (
    WAITING,
    answer_deadline,
    claim_buttons,
    deadline_values,
    last_answer_day,
    proof_buttons,
    zone_name,
)
from storage.models import Claim, Draw, Member, Promotion
from storage.texts import promotion_name


@dataclass
class Outcome:
    draw: Draw
    promotion: Promotion
    entrants: int
    announcement: tuple[str, dict[str, Any]]  # the staff chat's message: locale key and plain values
    excluded: dict[str, list[str]] = field(default_factory=dict)


def _listed(order_ids: list[str]) -> dict[str, list[str]]:
    """Order IDs for the announcement, as a typed list the renderer joins ("—" when empty)."""
    return {"$list": list(order_ids)}


async def commit(
    session: AsyncSession,
    slug: str,
    winners: int,
    reserves: int,
    admin_id: int,
    now: datetime,
    *,
    staff_chat_id: int | None = None,
    staff_language: str = "en",
) -> Outcome:
    """Step 1: a fresh secret seed; its hash and the entrant count are published."""
    if not 1 <= winners <= MAX_WINNERS or not 0 <= reserves <= MAX_RESERVES:
        raise DrawRefused(DrawError.BAD_COUNT)
    promotion = await find_promotion(session, slug, lock=True)
    if not promotion.lucky_draw:
        raise DrawRefused(DrawError.NO_LUCKY_DRAW)
    if (waiting := await open_draw(session, promotion.id)) is not None:
        raise DrawRefused(DrawError.ALREADY_COMMITTED, waiting)
    seed = new_seed()
    current = await entrants(session, promotion, now)
    row = Draw(
        promotion_id=promotion.id,
        winners_wanted=winners,
        reserves_wanted=reserves,
        seed_sha256=seed_hash(seed),
        seed=seed.hex(),  # kept secret until drawn: only the hash is shown anywhere before that
        committed_at=now,
        entrants=[],
        winners=[],
        reserves=[],
    )
    session.add(row)
    await session.flush()
    count = len(current.order_ids)
    details = {
        "draw_id": row.id,
        "seed_sha256": row.seed_sha256,
        "winners": winners,
        "reserves": reserves,
        "entrants_now": count,
    }
    await audit.record(
        session, now=now, actor_user_id=admin_id, action="draw.committed", subject=promotion.slug, details=details
    )
    values = {
        "promotion": promotion_name(promotion, staff_language),
        "slug": promotion.slug,
        "winners": winners,
        "reserves": reserves,
        "entrants": count,
        "seed_sha256": row.seed_sha256,
        "draw_id": row.id,
    }
    announcement = await announce(session, "staff_tools.draw.committed", values, staff_chat_id, staff_language, now)
    return Outcome(row, promotion, count, announcement, current.excluded)


async def draw(
    session: AsyncSession,
    slug: str,
    admin_id: int,
    now: datetime,
    *,
    staff_chat_id: int | None = None,
    staff_language: str = "en",
) -> Outcome:
    """Step 2: draws with the committed seed, reveals it, records everything, tells every entrant."""
    promotion = await find_promotion(session, slug, lock=True)
    row = await open_draw(session, promotion.id)
    if row is None or row.seed is None:
        raise DrawRefused(DrawError.NOTHING_COMMITTED)
    current = await entrants(session, promotion, now)
    if not current.order_ids:
        raise DrawRefused(DrawError.NO_ENTRANTS, row)
    result = replay(row.seed, current.order_ids, row.winners_wanted, row.reserves_wanted)
    deadline = answer_deadline(promotion, now)
    waiting = {"state": WAITING, "rank": None, "since": now.isoformat(), "deadline": deadline.isoformat()}
    answers = {order_id: dict(waiting) for order_id in result.winners}
    taken = await session.execute(
        update(Draw)
        .where(Draw.id == row.id, Draw.drawn_at.is_(None))
        .values(
            drawn_at=now,
            drawn_by=admin_id,
            entrants=result.entrants,
            winners=result.winners,
            reserves=result.reserves,
            answers=answers,
            answer_due_at=deadline if answers else None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:  # another admin drew it a moment ago
        raise DrawRefused(DrawError.NOTHING_COMMITTED)
    await session.refresh(row)
    details = {
        "draw_id": row.id,
        "seed": row.seed,
        "seed_sha256": row.seed_sha256,
        "entrants": result.entrants,
        "winners": result.winners,
        "reserves": result.reserves,
        "excluded": current.excluded,
        "answer_by": deadline.isoformat(),
    }
    await audit.record(
        session, now=now, actor_user_id=admin_id, action="draw.drawn", subject=promotion.slug, details=details
    )
    await _notify_entrants(session, promotion, row, current, result, now)
    values = {
        "promotion": promotion_name(promotion, staff_language),
        "slug": promotion.slug,
        "entrants": len(result.entrants),
        "excluded": len(current.excluded),
        "winners": _listed(result.winners),
        "reserves": _listed(result.reserves),
        "seed": row.seed,
        "seed_sha256": row.seed_sha256,
        "draw_id": row.id,
        "deadline": {"$date": last_answer_day(promotion, deadline).isoformat()},
        "timezone": zone_name(promotion),
    }
    announcement = await announce(session, "staff_tools.draw.drawn", values, staff_chat_id, staff_language, now)
    return Outcome(row, promotion, len(result.entrants), announcement, current.excluded)


async def cancel(
    session: AsyncSession,
    slug: str,
    admin_id: int,
    now: datetime,
    *,
    staff_chat_id: int | None = None,
    staff_language: str = "en",
) -> Outcome:
    """Withdraws the open commitment; its seed is revealed in the audit log and the announcement."""
    promotion = await find_promotion(session, slug, lock=True)
    row = await open_draw(session, promotion.id)
    if row is None:
        raise DrawRefused(DrawError.NOTHING_COMMITTED)
    details = {"draw_id": row.id, "seed": row.seed, "seed_sha256": row.seed_sha256}
    await audit.record(
        session, now=now, actor_user_id=admin_id, action="draw.cancelled", subject=promotion.slug, details=details
    )
    values = {
        "promotion": promotion_name(promotion, staff_language),
        "slug": promotion.slug,
        "seed": row.seed or "",
        "seed_sha256": row.seed_sha256,
    }
    announcement = await announce(session, "staff_tools.draw.cancelled", values, staff_chat_id, staff_language, now)
    await session.delete(row)
    await session.flush()
    return Outcome(row, promotion, 0, announcement)


async def _notify_entrants(
    session: AsyncSession, promotion: Promotion, row: Draw, current: Entrants, result: Result, now: datetime
) -> None:
    """One message per winning or reserve entry; one "not this time" per member who got neither."""
    ranks = {order_id: rank for rank, order_id in enumerate(result.reserves, start=1)}
    by_member: dict[int, list[Claim]] = {}
    for order_id in result.entrants:
        claim = current.claims[order_id]
        by_member.setdefault(claim.member_id, []).append(claim)
    for member_id, member_claims in by_member.items():
        member = await session.get(Member, member_id)
        if member is None:
            continue
        language = member.language
        common = {
            "promotion": promotion_name(promotion, language),
            "seed_sha256": row.seed_sha256,
            "seed": row.seed or "",
        }
        lucky = False
        for claim in member_claims:
            buttons: outbox.Buttons = proof_buttons(row.id)
            values: dict[str, Any] = {**common, "order_id": claim.order_id}
            if claim.order_id in result.winners:
                key = "staff_tools.draw.won"
                values |= {**deadline_values(promotion, row, claim.order_id), "prize": prize_text(promotion, language)}
                buttons = claim_buttons(row.id) + proof_buttons(row.id)
            elif claim.order_id in ranks:
                key, values["rank"] = "staff_tools.draw.reserve", ranks[claim.order_id]
            else:
                continue
            lucky = True
            await outbox.enqueue(
                session,
                chat_id=member.chat_id,
                kind="draw_result",
                key=key,
                language=language,
                values=values,
                buttons=buttons,
                now=now,
            )
        if not lucky:
            values = {**common, "order_ids": {"$list": [c.order_id for c in member_claims]}}
            await outbox.enqueue(
                session,
                chat_id=member.chat_id,
                kind="draw_result",
                key="staff_tools.draw.not_won",
                language=language,
                values=values,
                buttons=proof_buttons(row.id),
                now=now,
            )


async def get(session: AsyncSession, draw_id: int) -> tuple[Draw, Promotion] | None:
    row = await session.get(Draw, draw_id)
    if row is None:
        return None
    promotion = await session.get(Promotion, row.promotion_id)
    assert promotion is not None
    return row, promotion


async def open_commitments(session: AsyncSession) -> list[tuple[Draw, Promotion]]:
    """Commitments not drawn yet, oldest first."""
    query = select(Draw, Promotion).join(Promotion, Promotion.id == Draw.promotion_id).where(Draw.drawn_at.is_(None))
    rows = (await session.execute(query.order_by(Draw.id))).all()
    return [(row, promotion) for row, promotion in rows]
