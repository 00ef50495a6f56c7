"""The lucky draw: commit to a secret seed first, draw with it later and reveal it, so anyone can re-run it.

How a draw goes (staff run it with `/draw`, admins only):

1. **Commit** (`commit`): a random 32-byte seed is made and stored; its SHA-256 is published in
   the staff chat with the number of entrants at that moment. From now on the seed cannot change
   without the published hash giving it away.
2. **Draw** (`draw`): the entrants are collected again (eligibility re-checked now, see below),
   sorted, and `replay(seed, entrants, winners, reserves)` picks the winners and the reserves. The
   seed is revealed; the Draw row and the audit log keep seed, hash, entrants, winners and
   reserves; every entrant's member is told the result through the outbox, in their language.
   Anyone holding the published list can check `sha256(seed) == hash` and re-run `replay`.
3. **Cancel** (`cancel`): an open commitment can be withdrawn (audited with its seed, announced
   with its seed); the Draw row is deleted, the audit log keeps it.

At most `MAX_WINNERS` winners and `MAX_RESERVES` reserves per draw, so the staff announcement,
which lists them all, fits one Telegram message. `verify(row)` re-checks a stored draw, and
`python -m bot draw verify ID` prints it for publishing.

**Who is an entrant** (checked at draw time, not at commit time):

* a claim of this promotion whose status is *approved* now (a claim reopened after the commit
  is out) and whose customer answered *yes* to the lucky draw (their latest answer);
* the member has not deleted their data;
* every product of the claim still passes `eligibility.reasons` — model, invoice date inside the
  window, country of residence and of purchase, invoice photo present — *except* "promotion not
  running": a draw is usually held after the redemption period ends;
* the claim has not already won an earlier draw of the same promotion (reserves may be drawn
  again).

Each approved, opted-in claim is one entry: the guide asks the lucky-draw question per
redemption, so a member with two such claims has two chances (and may win twice).

The seed waits in `Draw.seed` until the draw: the chat never shows it before, but whoever can
read the database can. The commitment guards against changing the seed afterwards, not against
the database's operators.

**The algorithm** (`replay`), plain enough to re-implement in any language:

* entrants: the distinct order IDs, sorted ascending (they are lower-case ASCII);
* a byte stream: SHA-256(seed ‖ "draw" ‖ counter as 8 bytes big-endian) for counter = 0, 1, 2, …,
  concatenated;
* `below(m)`: take the next 8 bytes as a big-endian unsigned integer x; if
  x ≥ 2^64 − (2^64 mod m) take the next 8 (no modulo bias), else the answer is x mod m;
* a partial Fisher–Yates shuffle: for i = 0 … k−1, j = i + below(len − i), swap pool[i] and
  pool[j], with k = min(winners + reserves, len). Winners are the first `winners` picked (at most
  all entrants), reserves the rest, in the order drawn (reserve 1 first).

Every entrant is equally likely to be picked, and every ordered choice equally likely.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import audit, eligibility, outbox
from storage.models import Claim, ClaimStatus, Draw, Member, Promotion, RegisteredProduct

SEED_BYTES = 32
_DOMAIN = b"draw"
_SPACE = 1 << 64


# ---------------------------------------------------------------- the pure part


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def seed_hash(seed: bytes) -> str:
    """What is published before the draw: SHA-256 of the raw seed bytes, in hex."""
    return hashlib.sha256(seed).hexdigest()


def _stream(seed: bytes) -> Iterator[int]:
    """Unsigned 64-bit integers from SHA-256(seed ‖ "draw" ‖ counter)."""
    counter = 0
    while True:
        block = hashlib.sha256(seed + _DOMAIN + counter.to_bytes(8, "big")).digest()
        for offset in range(0, len(block), 8):
            yield int.from_bytes(block[offset : offset + 8], "big")
        counter += 1


def _below(stream: Iterator[int], m: int) -> int:
    """A uniform integer in [0, m), by rejection sampling (no modulo bias)."""
    limit = _SPACE - (_SPACE % m)
    while True:
        x = next(stream)
        if x < limit:
            return x % m


@dataclass(frozen=True)
class Result:
    entrants: list[str]  # sorted, as drawn from
    winners: list[str]
    reserves: list[str]


def replay(seed_hex: str, entrants: Iterable[str], winners: int, reserves: int = 0) -> Result:
    """The draw itself: the same seed and entrants always give the same winners and reserves."""
    if winners < 0 or reserves < 0:
        raise ValueError("winners and reserves cannot be negative")
    seed = bytes.fromhex(seed_hex)
    pool = sorted(set(entrants))
    picks = min(winners + reserves, len(pool))
    stream = _stream(seed)
    for i in range(picks):
        j = i + _below(stream, len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    chosen = pool[:picks]
    return Result(sorted(set(entrants)), chosen[:winners], chosen[winners:])


# ---------------------------------------------------------------- over the database

MAX_WINNERS = 100  # so the announcement, which lists every winner and reserve, fits one message
MAX_RESERVES = 100


class DrawError(enum.StrEnum):
    UNKNOWN_PROMOTION = "unknown_promotion"
    NO_LUCKY_DRAW = "no_lucky_draw"  # the promotion has no lucky draw
    BAD_COUNT = "bad_count"  # winners outside 1..MAX_WINNERS, or reserves outside 0..MAX_RESERVES
    ALREADY_COMMITTED = "already_committed"  # an open commitment exists: draw or cancel it first
    NOTHING_COMMITTED = "nothing_committed"
    NO_ENTRANTS = "no_entrants"


class DrawRefused(Exception):
    def __init__(self, error: DrawError, draw: Draw | None = None) -> None:
        super().__init__(error.value)
        self.error = error
        self.draw = draw


@dataclass
class Entrants:
    order_ids: list[str]  # sorted
    claims: dict[str, Claim]  # by order id
    excluded: dict[str, list[str]] = field(default_factory=dict)  # order id -> why (opted in and approved, but out)


@dataclass
class Outcome:
    draw: Draw
    promotion: Promotion
    entrants: int
    announcement: tuple[str, dict[str, Any]]  # the staff chat's message: locale key and values
    excluded: dict[str, list[str]] = field(default_factory=dict)


def promotion_name(promotion: Promotion, language: str) -> str:
    names = promotion.names or {}
    return str(names.get(language) or names.get("en") or promotion.slug)


def prize_text(promotion: Promotion, language: str) -> str:
    prize = promotion.draw_prize or {}
    return str(prize.get(language) or prize.get("en") or "")


async def _promotion(session: AsyncSession, slug: str, *, lock: bool = False) -> Promotion:
    query = select(Promotion).where(Promotion.slug == slug.strip().lower())
    if lock:  # serializes commits and draws of one promotion (SQLite: BEGIN IMMEDIATE does)
        query = query.with_for_update()
    promotion = await session.scalar(query)
    if promotion is None:
        raise DrawRefused(DrawError.UNKNOWN_PROMOTION)
    return promotion


async def _open(session: AsyncSession, promotion_id: int) -> Draw | None:
    return await session.scalar(select(Draw).where(Draw.promotion_id == promotion_id, Draw.drawn_at.is_(None)).order_by(Draw.id.desc()).limit(1))


async def entrants(session: AsyncSession, promotion: Promotion, now: datetime) -> Entrants:
    """The claims that take part if the draw ran now, and the opted-in ones left out with why."""
    earlier_winners: set[str] = set()
    for row in (await session.scalars(select(Draw).where(Draw.promotion_id == promotion.id, Draw.drawn_at.is_not(None)))).all():
        earlier_winners.update(str(order_id) for order_id in row.winners or [])
    query = (
        select(Claim)
        .where(Claim.promotion_id == promotion.id, Claim.status == ClaimStatus.APPROVED, Claim.lucky_draw_opt_in.is_(True))
        .options(selectinload(Claim.items))
        .order_by(Claim.order_id)
    )
    result = Entrants([], {})
    for claim in (await session.scalars(query)).all():
        why: list[str] = []
        member = await session.get(Member, claim.member_id)
        if member is None or member.deleted_at is not None:
            why.append("member_deleted")
        if claim.order_id in earlier_winners:
            why.append("already_won")
        if not claim.items:
            why.append("product_missing")
        for item in claim.items:
            product = await session.get(RegisteredProduct, item.registered_product_id)
            found = eligibility.reasons(product, member.country if member else None, promotion, now) if product is not None else None
            for reason in ["product_missing"] if found is None else [r.value for r in found if r != eligibility.Reason.NOT_RUNNING]:
                if reason not in why:
                    why.append(reason)
        if why:
            result.excluded[claim.order_id] = why
        else:
            result.order_ids.append(claim.order_id)
            result.claims[claim.order_id] = claim
    result.order_ids.sort()
    return result


async def _announce(session: AsyncSession, key: str, values: dict[str, Any], staff_chat_id: int | None, staff_language: str, now: datetime) -> tuple[str, dict[str, Any]]:
    """The staff chat hears of each step through the outbox, committed with the step."""
    if staff_chat_id is not None:
        await outbox.enqueue(session, chat_id=staff_chat_id, kind="staff_notice", key=key, language=staff_language, values=values, now=now)
    return key, values


def _listed(order_ids: list[str]) -> str:
    return ", ".join(order_ids) if order_ids else "—"


async def commit(session: AsyncSession, slug: str, winners: int, reserves: int, admin_id: int, now: datetime, *, staff_chat_id: int | None = None, staff_language: str = "en") -> Outcome:
    """Step 1: a fresh secret seed; its hash and the entrant count are published."""
    if not 1 <= winners <= MAX_WINNERS or not 0 <= reserves <= MAX_RESERVES:
        raise DrawRefused(DrawError.BAD_COUNT)
    promotion = await _promotion(session, slug, lock=True)
    if not promotion.lucky_draw:
        raise DrawRefused(DrawError.NO_LUCKY_DRAW)
    if (open_draw := await _open(session, promotion.id)) is not None:
        raise DrawRefused(DrawError.ALREADY_COMMITTED, open_draw)
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
    details = {"draw_id": row.id, "seed_sha256": row.seed_sha256, "winners": winners, "reserves": reserves, "entrants_now": len(current.order_ids)}
    await audit.record(session, now=now, actor_user_id=admin_id, action="draw.committed", subject=promotion.slug, details=details)
    values = {
        "promotion": promotion_name(promotion, staff_language),
        "slug": promotion.slug,
        "winners": winners,
        "reserves": reserves,
        "entrants": len(current.order_ids),
        "seed_sha256": row.seed_sha256,
        "draw_id": row.id,
    }
    announcement = await _announce(session, "staff_tools.draw.committed", values, staff_chat_id, staff_language, now)
    return Outcome(row, promotion, len(current.order_ids), announcement, current.excluded)


async def draw(session: AsyncSession, slug: str, admin_id: int, now: datetime, *, staff_chat_id: int | None = None, staff_language: str = "en") -> Outcome:
    """Step 2: draws with the committed seed, reveals it, records everything, tells every entrant."""
    promotion = await _promotion(session, slug, lock=True)
    row = await _open(session, promotion.id)
    if row is None or row.seed is None:
        raise DrawRefused(DrawError.NOTHING_COMMITTED)
    current = await entrants(session, promotion, now)
    if not current.order_ids:
        raise DrawRefused(DrawError.NO_ENTRANTS, row)
    result = replay(row.seed, current.order_ids, row.winners_wanted, row.reserves_wanted)
    taken = await session.execute(
        update(Draw)
        .where(Draw.id == row.id, Draw.drawn_at.is_(None))
        .values(drawn_at=now, drawn_by=admin_id, entrants=result.entrants, winners=result.winners, reserves=result.reserves)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # another admin drew it a moment ago
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
    }
    await audit.record(session, now=now, actor_user_id=admin_id, action="draw.drawn", subject=promotion.slug, details=details)
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
    }
    announcement = await _announce(session, "staff_tools.draw.drawn", values, staff_chat_id, staff_language, now)
    return Outcome(row, promotion, len(result.entrants), announcement, current.excluded)


async def cancel(session: AsyncSession, slug: str, admin_id: int, now: datetime, *, staff_chat_id: int | None = None, staff_language: str = "en") -> Outcome:
    """Withdraws the open commitment; its seed is revealed in the audit log and the announcement."""
    promotion = await _promotion(session, slug, lock=True)
    row = await _open(session, promotion.id)
    if row is None:
        raise DrawRefused(DrawError.NOTHING_COMMITTED)
    details = {"draw_id": row.id, "seed": row.seed, "seed_sha256": row.seed_sha256}
    await audit.record(session, now=now, actor_user_id=admin_id, action="draw.cancelled", subject=promotion.slug, details=details)
    values = {"promotion": promotion_name(promotion, staff_language), "slug": promotion.slug, "seed": row.seed or "", "seed_sha256": row.seed_sha256}
    announcement = await _announce(session, "staff_tools.draw.cancelled", values, staff_chat_id, staff_language, now)
    await session.delete(row)
    await session.flush()
    return Outcome(row, promotion, 0, announcement)


async def _notify_entrants(session: AsyncSession, promotion: Promotion, row: Draw, current: Entrants, result: Result, now: datetime) -> None:
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
        common = {"promotion": promotion_name(promotion, language), "seed_sha256": row.seed_sha256, "seed": row.seed or ""}
        lucky = False
        for claim in member_claims:
            if claim.order_id in result.winners:
                key, values = "staff_tools.draw.won", {**common, "order_id": claim.order_id, "prize": prize_text(promotion, language)}
            elif claim.order_id in ranks:
                key, values = "staff_tools.draw.reserve", {**common, "order_id": claim.order_id, "rank": ranks[claim.order_id]}
            else:
                continue
            lucky = True
            await outbox.enqueue(session, chat_id=member.chat_id, kind="draw_result", key=key, language=language, values=values, now=now)
        if not lucky:
            order_ids = ", ".join(c.order_id for c in member_claims)
            await outbox.enqueue(session, chat_id=member.chat_id, kind="draw_result", key="staff_tools.draw.not_won", language=language, values={**common, "order_ids": order_ids}, now=now)


def verify(row: Draw) -> bool:
    """A drawn Draw is sound: its seed has the published hash, and re-running gives its result."""
    if row.seed is None or row.drawn_at is None or seed_hash(bytes.fromhex(row.seed)) != row.seed_sha256:
        return False
    again = replay(row.seed, row.entrants, row.winners_wanted, row.reserves_wanted)
    return again.entrants == list(row.entrants) and again.winners == list(row.winners) and again.reserves == list(row.reserves)


async def get(session: AsyncSession, draw_id: int) -> tuple[Draw, Promotion] | None:
    row = await session.get(Draw, draw_id)
    if row is None:
        return None
    promotion = await session.get(Promotion, row.promotion_id)
    assert promotion is not None
    return row, promotion


async def open_commitments(session: AsyncSession) -> list[tuple[Draw, Promotion]]:
    """Commitments not drawn yet, oldest first."""
    rows = (await session.execute(select(Draw, Promotion).join(Promotion, Promotion.id == Draw.promotion_id).where(Draw.drawn_at.is_(None)).order_by(Draw.id))).all()
    return [(row, promotion) for row, promotion in rows]
