"""The SQLite drivers of storage/sqlite_driver.py under a lock held by another process.

The onloop driver runs statements on the event loop with SQLite's busy handler off, so these
tests are what stands between it and a frozen bot (the stock aiosqlite passes them too): while another connection (a second bot
process, the operator's CLI) holds the write lock, a unit of work must wait without stopping
the loop, succeed once the lock is free, fail with "database is locked" after the busy timeout,
and leave its connection usable when it is cancelled while waiting.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, make_session_factory, unit_of_work

DRIVERS = ["onloop", "aiosqlite_stock"]  # the stock driver too: the behaviour the onloop one must keep


@asynccontextmanager
async def engine_on(path: Path, driver: str, timeout: float = 10.0) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+{driver}:///{path}", connect_args={"timeout": timeout})
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
        yield engine
    finally:
        await engine.dispose()


@contextmanager
def lock_held(path: Path) -> Iterator[threading.Event]:
    """Another connection takes the write lock in its own thread and holds it until the event is set."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (-1)")
        taken.set()
        release.wait(30)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.join()


async def ticks_while(work: asyncio.Future[object] | asyncio.Task[object]) -> int:
    """How often the loop ran a 10 ms timer while `work` was pending: zero means it was frozen."""
    count = 0
    while not work.done():
        await asyncio.sleep(0.01)
        count += 1
    return count


async def insert(engine: AsyncEngine, n: int) -> None:
    async with unit_of_work(make_session_factory(engine)) as session:
        await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})


async def values(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        return list((await connection.execute(text("SELECT n FROM t ORDER BY n"))).scalars())


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_lock_held_elsewhere_is_waited_for_without_stopping_the_loop(tmp_path: Path, driver: str) -> None:
    path = tmp_path / "x.db"
    async with engine_on(path, driver) as engine:
        with lock_held(path) as release:
            work = asyncio.ensure_future(insert(engine, 1))
            await asyncio.sleep(0.2)
            assert not work.done()  # it waits for the lock...
            asyncio.get_running_loop().call_later(0.3, release.set)
            ticks = await ticks_while(work)
            await work
        assert ticks >= 10  # ...and the loop kept running meanwhile (about 30 ticks in 0.3 s)
        assert await values(engine) == [-1, 1]


@pytest.mark.parametrize("driver", DRIVERS)
async def test_a_lock_never_released_fails_after_the_busy_timeout(tmp_path: Path, driver: str) -> None:
    path = tmp_path / "x.db"
    async with engine_on(path, driver, timeout=0.3) as engine:
        with lock_held(path):
            work = asyncio.ensure_future(insert(engine, 1))
            ticks = await ticks_while(work)
            with pytest.raises(OperationalError, match="database is locked"):
                await work
        assert ticks >= 10
        await insert(engine, 2)  # the connection is fine afterwards
        assert await values(engine) == [-1, 2]


@pytest.mark.parametrize("driver", DRIVERS)
async def test_cancelled_while_waiting_leaves_the_connection_usable(tmp_path: Path, driver: str) -> None:
    path = tmp_path / "x.db"
    async with engine_on(path, driver) as engine:
        with lock_held(path) as release:
            work = asyncio.ensure_future(insert(engine, 1))
            await asyncio.sleep(0.2)
            work.cancel()
            asyncio.get_running_loop().call_later(0.2, release.set)
            with pytest.raises(asyncio.CancelledError):
                await work
        await insert(engine, 2)
        assert await values(engine) == [-1, 2]  # the cancelled unit of work wrote nothing
