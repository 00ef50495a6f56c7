"""Engine and session factory: one session per unit of work, never shared across tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
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
SQLITE_DRIVERS = {"onloop", "onethread", "aiosqlite_stock"}  # the others are named to compare (bench/cpu.py)


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
    return create_async_engine(url, pool_pre_ping=True, **(limits | kwargs))


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
