"""Engine and session factory: one session per unit of work, never shared across tasks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import sqlite_driver

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class PoolLimits:
    """Connections one process may hold, and how long a unit of work waits for one.

    SQLAlchemy's default (5 + 10 overflow) is too small for a bot that runs up to 256 updates
    at once: with 200 customers writing together, updates failed on "QueuePool limit reached".
    A wait is better than a failure, so the timeout is long; the size is what PostgreSQL's
    max_connections (100 by default) allows a few processes each."""

    size: int = 10
    max_overflow: int = 20
    timeout: float = 30.0
    ping_after_idle: float = 5.0  # seconds in the pool after which a connection is pinged before use


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; SQLite leaves foreign keys off unless asked."""
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """BEGIN IMMEDIATE takes the write lock up front: a read-then-write transaction cannot
    fail with SQLITE_BUSY half-way, it waits (busy_timeout) like any other writer."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


SQLITE_DRIVER = "onloop"  # storage/sqlite_driver.py; what `sqlite://` and `sqlite+aiosqlite://` run on
SQLITE_DRIVERS = {"onloop", "aiosqlite_stock"}  # the stock one is named to compare (bench/cpu.py)


def create_engine(url: str, pool: PoolLimits = PoolLimits(), **kwargs: Any) -> AsyncEngine:
    """An async engine for SQLite (storage/sqlite_driver.py) or PostgreSQL (asyncpg)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if parsed.get_driver_name() not in SQLITE_DRIVERS:
            parsed = parsed.set(drivername=f"sqlite+{SQLITE_DRIVER}")
        # One connection: SQLite has one writer anyway, and waiting for the pool's connection is a
        # fair asyncio queue, where waiting for SQLite's lock would sleep in growing steps. It is
        # also what lets the onloop driver run statements on the loop without deadlocking itself.
        # The timeout is SQLite's busy timeout: how long another process may hold the write lock.
        options: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": pool.timeout}
        options["connect_args"] = {"timeout": sqlite_driver.DEFAULT_TIMEOUT}
        engine = create_async_engine(parsed, **(options | kwargs))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    limits = {"pool_size": pool.size, "max_overflow": pool.max_overflow, "pool_timeout": pool.timeout}
    # Last in, first out: under load the same few connections stay warm, the others idle (and are
    # pinged when next needed); at low traffic one connection serves and the server may close the rest.
    engine = create_async_engine(url, pool_use_lifo=True, **(limits | kwargs))
    _ping_when_idle(engine, pool.ping_after_idle)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_for: float) -> None:
    """Pings a connection before use only when it sat in the pool `idle_for` seconds or longer.

    `pool_pre_ping` pings at every checkout, and asyncpg's ping is a transaction around a query:
    3 of about 9.5 round trips per update. A connection returned a moment ago is alive; one left
    idle may have been closed by a server restart or an idle timeout, and that is the one to test.
    A failed ping raises DisconnectionError, on which the pool replaces the connection (and drops
    the connections older than it) before the unit of work sees anything."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_for:
            return  # new, or back in the pool a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure means: not this connection
            raise DisconnectionError(f"connection idle {time.monotonic() - since:.0f} s failed its ping") from exc

    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Objects stay readable after commit, so a handler can render what it just saved."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A transaction: committed when the block ends, rolled back if it raises."""
    async with factory() as session, session.begin():
        yield session


async def optimize(factory: SessionFactory) -> None:
    """Refreshes SQLite's table statistics where its planner missed them (`PRAGMA optimize`, each
    table sampled, not read whole). Without them SQLite guesses that every index is selective and
    counted all 100,000 claims of a promotion through promotion_id instead of a member's few
    through their own index. PostgreSQL's autovacuum keeps its statistics itself. Hourly."""
    async with factory() as session:
        if session.bind.dialect.name != "sqlite":
            return
        await session.execute(text("PRAGMA analysis_limit=1000"))
        await session.execute(text("PRAGMA optimize"))
        await session.commit()


async def ping(factory: SessionFactory) -> None:
    """One round trip to the database (the webhook's health check); raises when it does not answer."""
    async with factory() as session:
        await session.execute(text("SELECT 1"))
