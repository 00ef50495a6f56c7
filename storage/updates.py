"""The update inbox: which Telegram update ids were already processed, and one user at a time.

Telegram delivers an update again when it never heard that the first delivery was taken: a
polling bot that restarted before it confirmed the offset, or a webhook answer that failed or
came too late. The id is claimed inside the unit of work that applies the update, so the claim
and the state change are committed together or not at all: a claimed id was applied once, an
unclaimed one was not applied.

Two processes may hold updates of one user at the same time (several webhook workers behind a
load balancer, or a retry that reaches another worker while the first still runs). On
PostgreSQL `lock_user` makes the second wait for the first's commit; on SQLite every unit of
work already starts with BEGIN IMMEDIATE (storage/db.py), so writers run one at a time anyway.

A polling bot lets Telegram forget a batch before it has processed it, so that one long update
does not hold the next fetch back (bot/polling.py). What Telegram forgot is kept here first:
`record_received` writes the raw updates, `finished` deletes them once processed, `pending`
returns the ones a killed process left, to be processed on the next start.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate, ReceivedUpdate
from storage.upsert import cached_upsert, row_parameters

# Telegram keeps an unconfirmed update for 24 hours; a day more covers clock skew and slow restarts.
KEEP_FOR = timedelta(days=2)
# First key of the two-int advisory lock: the user locks live in their own key space, apart from
# the one-bigint locks of storage.claims (PostgreSQL keeps the two forms apart).
USER_LOCK_NAMESPACE = 0x55534552  # "USER"


async def claim_update(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Records the update as processed; False when it was already (a redelivery).

    One INSERT that ignores a conflict, so two workers claiming the same id at once cannot both
    win, and the loser does not abort its transaction with an integrity error."""
    if session.bind.dialect.name not in ("postgresql", "sqlite"):  # pragma: no cover - the project supports these two
        raise NotImplementedError(f"claim_update does not support {session.bind.dialect.name}")
    statement = cached_upsert(ProcessedUpdate.__table__, ("update_id", "processed_at"), ("update_id",))
    result = await session.execute(statement, {"update_id": update_id, "processed_at": now})
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def is_processed(session: AsyncSession, update_id: int) -> bool:
    """Whether the update was claimed already (for handlers that record it after they ran)."""
    return await session.get(ProcessedUpdate, update_id) is not None


def user_lock_key(user_id: int) -> int:
    """A Telegram user id (up to 52 bits) folded into the signed 32-bit second key; two users
    that share a key only wait for each other, they are never mixed up."""
    folded = (user_id ^ (user_id >> 32)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded >= 1 << 31 else folded


async def lock_user(session: AsyncSession, user_id: int) -> None:
    """Waits until no other transaction works for this user, and holds that until commit.

    Taken first in the unit of work, before the member and the conversation state are read, so
    the second of two simultaneous updates reads what the first committed (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already lets one writer in at a time)."""
    if session.bind.dialect.name != "postgresql":
        return
    keys = {"namespace": USER_LOCK_NAMESPACE, "key": user_lock_key(user_id)}
    await session.execute(text("SELECT pg_advisory_xact_lock(:namespace, :key)"), keys)


async def claim_for_user(session: AsyncSession, user_id: int | None, update_id: int, now: datetime) -> bool:
    """`lock_user` then `claim_update`, in one statement on PostgreSQL (one round trip less).

    The lock is a CTE the insert selects from, so it is granted before the row is written; the
    next statement (the member and state read) takes a fresh snapshot, so it sees what the
    lock's previous holder committed, as with two statements."""
    if user_id is None or session.bind.dialect.name != "postgresql":
        if user_id is not None:
            await lock_user(session, user_id)
        return await claim_update(session, update_id, now)
    keys = {"namespace": USER_LOCK_NAMESPACE, "key": user_lock_key(user_id)}
    result = await session.execute(_CLAIM_FOR_USER, {**keys, "update_id": update_id, "now": now})
    return bool(result.rowcount)  # type: ignore[attr-defined]


# Text, so it is compiled once: SQLAlchemy's ON CONFLICT construct is never cached (storage.upsert).
_CLAIM_FOR_USER = text(
    "WITH locked AS (SELECT pg_advisory_xact_lock(:namespace, :key) AS held) "
    "INSERT INTO processed_updates (update_id, processed_at) SELECT :update_id, :now FROM locked "
    "ON CONFLICT (update_id) DO NOTHING"
).bindparams(
    bindparam("namespace", type_=Integer),
    bindparam("key", type_=Integer),
    bindparam("update_id", type_=BigInteger),
    bindparam("now", type_=ProcessedUpdate.processed_at.type),
)


async def prune_updates(session: AsyncSession, now: datetime, keep: timedelta = KEEP_FOR) -> int:
    """Forgets ids older than `keep` (Telegram never redelivers those); returns how many.

    Cheap enough to run every hour: one indexed range delete."""
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < now - keep))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def record_received(
    session: AsyncSession, received: Sequence[tuple[int, dict[str, Any]]], now: datetime
) -> set[int]:
    """Keeps (update_id, raw update) pairs until `finished`; returns the ids that were new.

    An id already kept is left as it was: it is in hand since the last start (Telegram sent it
    again because the process died before the next getUpdates confirmed it). One statement for
    the batch: an insert that skips the ids kept and returns the ones it wrote."""
    if not received:
        return set()
    rows = [{"update_id": key, "payload": payload, "received_at": now} for key, payload in dict(received).items()]
    key = ("update_id",)
    columns = (*key, "payload", "received_at")
    statement = cached_upsert(ReceivedUpdate.__table__, columns, key, returning=key, rows=len(rows))
    return set(await session.scalars(statement, rows[0] if len(rows) == 1 else row_parameters(rows)))


async def finished(session: AsyncSession, update_ids: Collection[int]) -> int:
    """Forgets updates whose processing ended (replies sent); returns how many rows went."""
    if not update_ids:
        return 0
    statement = delete(ReceivedUpdate).where(ReceivedUpdate.update_id.in_(list(update_ids)))
    return len((await session.scalars(statement.returning(ReceivedUpdate.update_id))).all())


async def pending(session: AsyncSession) -> list[tuple[int, dict[str, Any]]]:
    """The updates received but not finished, oldest first: a killed process left them behind."""
    query = select(ReceivedUpdate.update_id, ReceivedUpdate.payload).order_by(ReceivedUpdate.update_id)
    rows = await session.execute(query)
    return [(update_id, dict(payload)) for update_id, payload in rows.tuples()]
