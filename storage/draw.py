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

**Answers and reserves** (`answer`, `replace_lapsed`): each winner's message carries a "Claim my
prize" button (callback `g:prize:<draw id>`) and its deadline: the end of the day, in the
promotion's time zone, `Promotion.draw_answer_days` days after the winner was told (default 14;
`lucky_draw.answer_days` in the promotions file). Pressing it in time records the answer and tells
staff; pressed later it is refused. A timed job (`replace_lapsed`, run by the bot's runtime every
minute) lapses every winner whose deadline passed without an answer, and calls in the first
reserve, in drawn order, not called in before, whose claim is still an entry (the entrant rules
below, checked again at that moment; a reserve who is out is skipped, for good). The new winner
gets the winner's message with a deadline counted from then, the lapsed winner a short note, staff
an announcement (or "no reserve left"), the audit log `draw.replaced` / `draw.reserves_exhausted`.
Since reserves are used in drawn order, `replay` still explains every prize.

The state lives in `Draw.answers` (JSON), one entry per order ID that has been a winner or a called-in
or skipped reserve, in the order it happened::

    {"a1b2c3": {"state": "waiting" | "answered" | "lapsed" | "skipped",
                "rank": null (a drawn winner) or the reserve's rank (1 = first reserve),
                "since": ISO time told,  "deadline": ISO time (UTC) the answer is due,
                "answered_at": ISO,                          (answered)
                "lapsed_at": ISO, "replaced_by": ID | null,  (lapsed; null: no reserve was left)
                "replaces": ID,                              (a called-in reserve)
                "why": [reason, …]}}                         (skipped: why it was no entry then)

`Draw.answer_due_at` is the earliest deadline of a winner still waiting (NULL when none), so the
job finds due draws with one indexed comparison and running it again changes nothing. A reserve
not in `answers` is unused. `Draw.winners` and `Draw.reserves` stay as drawn, so `verify` holds.
A member with two winning entries in one draw answers for both with one press. Draws made before
answers were tracked have `answers` NULL and are left alone.

At most `MAX_WINNERS` winners and `MAX_RESERVES` reserves per draw, so the staff announcement,
which lists them all, fits one Telegram message. `verify(row)` re-checks a stored draw, and
`python -m bot draw verify ID` prints it for publishing.

**Who is an entrant** (checked at draw time, not at commit time):

* a claim of this promotion whose status is *approved* now (a claim reopened after the commit
  is out) and whose customer answered *yes* to the lucky draw (their latest answer);
* the member has not deleted their data;
* every product of the claim still passes `eligibility.reasons` — model, invoice date inside the
  window, country of residence and of purchase, invoice photo present — *except* "promotion not
  running" and "redemption deadline passed": a draw is usually held after the redemption period
  ends;
* the claim has not already won an earlier draw of the same promotion, as a drawn winner or a
  called-in reserve (reserves who were never called in may be drawn again).

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
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date
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


_PERIOD_REASONS = {eligibility.Reason.NOT_RUNNING, eligibility.Reason.DEADLINE_PASSED}  # a draw usually follows the period


def _ever_won(row: Draw) -> set[str]:
    """Order IDs that won `row`: its drawn winners and the reserves called in since."""
    won = {str(order_id) for order_id in row.winners or []}
    won.update(order_id for order_id, entry in (row.answers or {}).items() if entry.get("rank") is not None and entry.get("state") != "skipped")
    return won


async def _won_before(session: AsyncSession, promotion: Promotion, *, besides: int | None = None) -> set[str]:
    """Order IDs that won a drawn draw of `promotion` (other than draw `besides`)."""
    query = select(Draw).where(Draw.promotion_id == promotion.id, Draw.drawn_at.is_not(None))
    if besides is not None:
        query = query.where(Draw.id != besides)
    won: set[str] = set()
    for row in (await session.scalars(query)).all():
        won |= _ever_won(row)
    return won


async def _why_out(session: AsyncSession, claim: Claim, promotion: Promotion, now: datetime, won: set[str]) -> list[str]:
    """Why an approved, opted-in claim is no entry now (empty: it is one). Items must be loaded."""
    why: list[str] = []
    member = await session.get(Member, claim.member_id)
    if member is None or member.deleted_at is not None:
        why.append("member_deleted")
    if claim.order_id in won:
        why.append("already_won")
    if not claim.items:
        why.append("product_missing")
    for item in claim.items:
        product = await session.get(RegisteredProduct, item.registered_product_id)
        found = eligibility.reasons(product, member.country if member else None, promotion, now) if product is not None else None
        for reason in ["product_missing"] if found is None else [r.value for r in found if r not in _PERIOD_REASONS]:
            if reason not in why:
                why.append(reason)
    return why


async def entrants(session: AsyncSession, promotion: Promotion, now: datetime) -> Entrants:
    """The claims that take part if the draw ran now, and the opted-in ones left out with why."""
    earlier_winners = await _won_before(session, promotion)
    query = (
        select(Claim)
        .where(Claim.promotion_id == promotion.id, Claim.status == ClaimStatus.APPROVED, Claim.lucky_draw_opt_in.is_(True))
        .options(selectinload(Claim.items))
        .order_by(Claim.order_id)
    )
    result = Entrants([], {})
    for claim in (await session.scalars(query)).all():
        why = await _why_out(session, claim, promotion, now, earlier_winners)
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
    deadline = answer_deadline(promotion, now)
    answers = {order_id: {"state": WAITING, "rank": None, "since": now.isoformat(), "deadline": deadline.isoformat()} for order_id in result.winners}
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
        "answer_by": deadline.isoformat(),
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
        "deadline": show_day(last_answer_day(promotion, deadline), staff_language),
        "timezone": _zone_name(promotion),
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
            buttons: outbox.Buttons | None = None
            if claim.order_id in result.winners:
                key, values = "staff_tools.draw.won", {**common, **_deadline_values(promotion, row, claim.order_id, language), "order_id": claim.order_id, "prize": prize_text(promotion, language)}
                buttons = claim_buttons(row.id)
            elif claim.order_id in ranks:
                key, values = "staff_tools.draw.reserve", {**common, "order_id": claim.order_id, "rank": ranks[claim.order_id]}
            else:
                continue
            lucky = True
            await outbox.enqueue(session, chat_id=member.chat_id, kind="draw_result", key=key, language=language, values=values, buttons=buttons, now=now)
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


# ---------------------------------------------------------------- answers and reserves

WAITING, ANSWERED, LAPSED, SKIPPED = "waiting", "answered", "lapsed", "skipped"
CLAIM_ACTION = "prize"  # the customer's global button: g:prize:<draw id>


def claim_buttons(draw_id: int) -> outbox.Buttons:
    """The winner's "Claim my prize" button (a global button: it works from the old message)."""
    return [[("prize.button", f"g:{CLAIM_ACTION}:{draw_id}")]]


def _zone(promotion: Promotion) -> ZoneInfo:
    try:
        return ZoneInfo(promotion.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _zone_name(promotion: Promotion) -> str:
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


def show_day(day: date, language: str) -> str:
    """A date as the language writes it ("Jan 29, 2027", "2027年1月29日"); ISO if Babel cannot."""
    try:
        return str(format_date(day, "medium", locale=language.replace("-", "_")))
    except (ValueError, LookupError):
        return day.isoformat()


def _deadline_values(promotion: Promotion, row: Draw, order_id: str, language: str) -> dict[str, Any]:
    entry = (row.answers or {}).get(order_id) or {}
    deadline = datetime.fromisoformat(entry["deadline"]) if entry.get("deadline") else answer_deadline(promotion, row.drawn_at or row.committed_at)
    return {"deadline": show_day(last_answer_day(promotion, deadline), language), "timezone": _zone_name(promotion)}


def _due(answers: dict[str, Any]) -> datetime | None:
    """The earliest deadline of a winner still waiting, for `Draw.answer_due_at`."""
    deadlines = [datetime.fromisoformat(e["deadline"]) for e in answers.values() if e.get("state") == WAITING]
    return min(deadlines) if deadlines else None


def _store(row: Draw, answers: dict[str, Any]) -> None:
    """A fresh copy each time, so the JSON column is always seen as changed."""
    row.answers = {order_id: dict(entry) for order_id, entry in answers.items()}
    row.answer_due_at = _due(answers)


def _who(member: Member) -> str:
    name = " ".join(part for part in (member.first_name, member.last_name) if part) or str(member.telegram_user_id)
    return f"{name} (@{member.username})" if member.username else f"{name} ({member.telegram_user_id})"


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


async def _locked(session: AsyncSession, draw_id: int) -> Draw | None:
    return await session.scalar(select(Draw).where(Draw.id == draw_id).with_for_update().execution_options(populate_existing=True))


async def answer(session: AsyncSession, draw_id: int, member: Member, now: datetime, *, staff_chat_id: int | None = None, staff_language: str = "en") -> AnswerOutcome:
    """The winner pressed "Claim my prize": within the deadline it is recorded and staff are told."""
    row = await _locked(session, draw_id)
    if row is None or row.drawn_at is None or not row.answers:
        return AnswerOutcome(Answer.NOT_WINNER)
    promotion = await session.get(Promotion, row.promotion_id)
    assert promotion is not None
    order_ids = list(row.answers)
    mine = set(await session.scalars(select(Claim.order_id).where(Claim.order_id.in_(order_ids), Claim.member_id == member.id)))
    entries = {order_id: dict(entry) for order_id, entry in row.answers.items() if order_id in mine and entry.get("state") != SKIPPED}
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
    _store(row, answers)
    await audit.record(session, now=now, actor_user_id=member.telegram_user_id, action="draw.answered", subject=promotion.slug, details={"draw_id": row.id, "order_ids": waiting})
    values = {"promotion": promotion_name(promotion, staff_language), "slug": promotion.slug, "draw_id": row.id, "order_ids": ", ".join(waiting), "member": _who(member)}
    await _announce(session, "prize.staff.claimed", values, staff_chat_id, staff_language, now)
    deadline = min(datetime.fromisoformat(entries[o]["deadline"]) for o in waiting)
    return AnswerOutcome(Answer.CLAIMED, promotion, waiting, last_answer_day(promotion, deadline))


@dataclass
class Replacement:
    draw_id: int
    lapsed: str  # the winner who did not answer
    winner: str | None  # the reserve called in; None when no reserve was left
    rank: int | None = None
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reserves passed over, with why


async def _claim(session: AsyncSession, order_id: str) -> Claim | None:
    return await session.scalar(select(Claim).where(Claim.order_id == order_id).options(selectinload(Claim.items)))


async def _reserve_out(session: AsyncSession, order_id: str, promotion: Promotion, now: datetime, won: set[str]) -> list[str]:
    """Why reserve `order_id` cannot be called in now: the entrant rules of the draw, again."""
    claim = await _claim(session, order_id)
    if claim is None:
        return ["claim_missing"]
    why = []
    if claim.promotion_id != promotion.id:
        why.append("claim_missing")
    if claim.status != ClaimStatus.APPROVED:
        why.append("not_approved")
    if claim.lucky_draw_opt_in is not True:
        why.append("opted_out")
    return why + await _why_out(session, claim, promotion, now, won)


async def _member_of(session: AsyncSession, order_id: str) -> Member | None:
    member = await session.scalar(select(Member).join(Claim, Claim.member_id == Member.id).where(Claim.order_id == order_id))
    return member if member is not None and member.deleted_at is None else None


async def _replace_in(session: AsyncSession, row: Draw, promotion: Promotion, now: datetime, staff_chat_id: int | None, staff_language: str) -> list[Replacement]:
    answers = {order_id: dict(entry) for order_id, entry in (row.answers or {}).items()}
    won = await _won_before(session, promotion, besides=row.id)
    ranks = {order_id: rank for rank, order_id in enumerate(row.reserves or [], start=1)}
    lapsing = [
        order_id
        for order_id in [*(row.winners or []), *(row.reserves or [])]
        if answers.get(order_id, {}).get("state") == WAITING and datetime.fromisoformat(answers[order_id]["deadline"]) <= now
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
            deadline = answer_deadline(promotion, now)
            answers[candidate] = {"state": WAITING, "rank": ranks[candidate], "replaces": lapsed, "since": now.isoformat(), "deadline": deadline.isoformat()}
            replacement.winner, replacement.rank = candidate, ranks[candidate]
            break
        answers[lapsed] |= {"state": LAPSED, "lapsed_at": now.isoformat(), "replaced_by": replacement.winner}
        _store(row, answers)  # as we go: the messages below read the new winner's deadline
        await _tell_replacement(session, row, promotion, replacement, now, staff_chat_id, staff_language)
        done.append(replacement)
    return done


async def _tell_replacement(session: AsyncSession, row: Draw, promotion: Promotion, replacement: Replacement, now: datetime, staff_chat_id: int | None, staff_language: str) -> None:
    """The audit log, the lapsed winner, the reserve called in and the staff chat."""
    details = {"draw_id": row.id, "lapsed": replacement.lapsed, "winner": replacement.winner, "rank": replacement.rank, "skipped": replacement.skipped}
    action = "draw.replaced" if replacement.winner else "draw.reserves_exhausted"
    await audit.record(session, now=now, actor_user_id=None, action=action, subject=promotion.slug, details=details)
    if (lapsed := await _member_of(session, replacement.lapsed)) is not None:
        values = {"promotion": promotion_name(promotion, lapsed.language), "order_id": replacement.lapsed}
        await outbox.enqueue(session, chat_id=lapsed.chat_id, kind="draw_result", key="prize.lapsed", language=lapsed.language, values=values, now=now)
    staff_values: dict[str, Any] = {
        "promotion": promotion_name(promotion, staff_language),
        "slug": promotion.slug,
        "draw_id": row.id,
        "lapsed": replacement.lapsed,
        "skipped": _listed(list(replacement.skipped)),
    }
    if replacement.winner is None:
        await _announce(session, "prize.staff.exhausted", staff_values, staff_chat_id, staff_language, now)
        return
    if (winner := await _member_of(session, replacement.winner)) is not None:
        language = winner.language
        values = {
            "promotion": promotion_name(promotion, language),
            "order_id": replacement.winner,
            "rank": replacement.rank,
            "prize": prize_text(promotion, language),
            **_deadline_values(promotion, row, replacement.winner, language),
        }
        await outbox.enqueue(session, chat_id=winner.chat_id, kind="draw_result", key="prize.promoted", language=language, values=values, buttons=claim_buttons(row.id), now=now)
    staff_values |= {"winner": replacement.winner, "rank": replacement.rank, **_deadline_values(promotion, row, replacement.winner, staff_language)}
    await _announce(session, "prize.staff.replaced", staff_values, staff_chat_id, staff_language, now)


async def replace_lapsed(session: AsyncSession, now: datetime, *, staff_chat_id: int | None = None, staff_language: str = "en") -> list[Replacement]:
    """The timed job: every winner whose deadline passed unanswered gives way to the next reserve.

    Only draws with a winner still waiting past their deadline are touched, each locked while it
    changes, so running it again (or in a second process) does nothing more."""
    due = (await session.scalars(select(Draw.id).where(Draw.answer_due_at.is_not(None), Draw.answer_due_at <= now).order_by(Draw.id))).all()
    done: list[Replacement] = []
    for draw_id in due:
        row = await _locked(session, draw_id)
        if row is None or row.answer_due_at is None or row.answer_due_at > now:  # another process got there first
            continue
        promotion = await session.get(Promotion, row.promotion_id)
        assert promotion is not None
        done += await _replace_in(session, row, promotion, now, staff_chat_id, staff_language)
    return done
