"""Leases: one named job is done by one live process at a time, found dead by its heartbeat.

The outbox uses one so that Telegram's limits (about 30 messages a second overall, one a second
per chat) hold for all bot processes together: only the lease holder sends, the others stand
by and take over when its heartbeat is older than the lease's time to live. A holder that stops
cleanly gives the lease up, so its successor (or its own restart) starts at once; a process
that starts again under the same owner name takes its own lease back at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lease


async def hold(session: AsyncSession, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Takes or renews the lease; False while another owner's heartbeat is younger than `ttl`.

    The row is read FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE serializes anyway), so two
    processes racing for a free lease cannot both win.
    """
    lease = await session.scalar(select(Lease).where(Lease.name == name).with_for_update())
    if lease is None:
        session.add(Lease(name=name, owner=owner, heartbeat_at=now, acquired_at=now))
        await session.flush()
        return True
    free = lease.owner is None or lease.heartbeat_at is None or lease.heartbeat_at < now - ttl
    if lease.owner != owner and not free:
        return False
    if lease.owner != owner or lease.acquired_at is None:
        lease.acquired_at = now
    lease.owner, lease.heartbeat_at = owner, now
    return True


async def give_up(session: AsyncSession, name: str, owner: str) -> None:
    """A clean stop: the lease is free at once for whoever comes next."""
    lease = await session.scalar(select(Lease).where(Lease.name == name).with_for_update())
    if lease is not None and lease.owner == owner:
        lease.owner, lease.heartbeat_at = None, None


async def holder(session: AsyncSession, name: str) -> Lease | None:
    return await session.get(Lease, name)
