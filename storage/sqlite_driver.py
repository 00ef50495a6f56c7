"""SQLite for SQLAlchemy's async engine without a thread hop per statement.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on its own thread and wakes the
event loop for each answer: about 25 hand-offs per update, a fifth of the bot's CPU. The bot's
statements are short (an indexed read or write, well under a millisecond), so `sqlite+onloop`
runs each statement, with all its rows fetched, on the event loop thread itself, over the
standard library's sqlite3. That cannot deadlock because a process has one connection
(storage/db.py: a pool of one, so waiting for it is an asyncio queue) and SQLite's busy handler
is off on the loop: when another process holds the write lock, the statement fails at once with
SQLITE_BUSY and is retried in a worker thread with the configured busy timeout, while the loop
goes on with other work.

The price: a long statement (an export, a catalogue snapshot of 10,000 products) holds the loop
for its length, where aiosqlite held only the connection, which every other unit of work waited
for anyway. Measured against the alternative of one thread call per statement (execute and fetch
together, one hand-off instead of four: 1.04x the stock aiosqlite's CPU per unit of work, against
1.41x for this; bench/sqlite_drivers.py, README "Benchmark"), which is why only this one is kept.

Registered with SQLAlchemy on import, with the stock aiosqlite under `sqlite+aiosqlite_stock` so a
benchmark can run both; storage/db.py serves `sqlite://` and `sqlite+aiosqlite://` URLs with it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0  # seconds another process may hold the write lock before a statement fails


def _busy(error: sqlite3.OperationalError) -> bool:
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


async def _finish_in(executor: ThreadPoolExecutor, job: Callable[[], T]) -> T:
    """Runs `job` on `executor` and waits for it even when cancelled meanwhile: the connection
    must not be used by the loop while its thread is still inside SQLite."""
    future = asyncio.get_running_loop().run_in_executor(executor, job)
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait([future])
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return future.result()


async def _nothing() -> None:
    """Awaited once per statement on the loop: SQLAlchemy's AsyncConnection.execute insists that
    a statement awaited something (a check against sync drivers); this costs a greenlet switch,
    not a trip through the event loop."""


class Cursor:
    """A DBAPI cursor whose execute runs the statement and fetches all its rows in one call."""

    __slots__ = ("_connection", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.arraysize = 1
        self.description: Any = None
        self.lastrowid: int | None = None
        self.rowcount = -1

    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        def job() -> None:
            cursor = self._connection.raw.cursor()
            try:
                cursor.execute(operation) if parameters is None else cursor.execute(operation, parameters)
                self.description = cursor.description
                self._rows = deque(cursor.fetchall()) if cursor.description else deque()
                self.lastrowid, self.rowcount = cursor.lastrowid, cursor.rowcount
            finally:
                cursor.close()

        self._connection.run(job)
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> Cursor:
        def job() -> None:
            cursor = self._connection.raw.cursor()
            try:
                cursor.executemany(operation, seq_of_parameters)
                self.description, self._rows = None, deque()
                self.lastrowid, self.rowcount = cursor.lastrowid, cursor.rowcount
            finally:
                cursor.close()

        self._connection.run(job)
        return self

    def setinputsizes(self, *sizes: Any) -> None:
        pass

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def close(self) -> None:
        self._rows.clear()

    async def _async_soft_close(self) -> None:
        """The async engine's hook for cursors that must release their rows; these hold them all."""


class Connection:
    """A DBAPI connection over sqlite3 whose statements run on the caller's thread (the event
    loop's); one that meets SQLITE_BUSY is moved to a thread that waits for the lock."""

    _waiter: ThreadPoolExecutor | None = None

    def __init__(self, raw: sqlite3.Connection, timeout: float) -> None:
        self.raw = raw
        self.timeout = timeout

    def run(self, job: Callable[[], T]) -> T:
        try:
            result = job()
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
            return self._wait_for_lock(job)
        if in_greenlet():
            await_only(_nothing())
        return result

    def _wait_for_lock(self, job: Callable[[], T]) -> T:
        """Another process holds the lock: wait for it with SQLite's busy handler, off the loop."""

        def waiting() -> T:
            self.raw.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            try:
                return job()
            finally:
                self.raw.execute("PRAGMA busy_timeout=0")

        if not in_greenlet():  # garbage collection's rollback: no loop to keep free
            return waiting()
        if self._waiter is None:
            self._waiter = ThreadPoolExecutor(1, thread_name_prefix="sqlite-lock-wait")
        return await_only(_finish_in(self._waiter, waiting))

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self.raw.isolation_level = value

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.raw.create_function(*args, **kwargs)

    def cursor(self) -> Cursor:
        return Cursor(self)

    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        return self.cursor().execute(operation, parameters)

    def commit(self) -> None:
        self.run(self.raw.commit)

    def rollback(self) -> None:
        self.run(self.raw.rollback)

    def close(self) -> None:
        self.raw.close()
        if self._waiter is not None:
            self._waiter.shutdown(wait=False)


class DBAPI:
    """sqlite3 as the DBAPI module, with `connect` returning the connection above."""

    paramstyle = "qmark"

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    def connect(self, database: str, timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> Connection:
        """SQLite's own busy handler off (timeout 0): on the loop, a lock held elsewhere must fail
        at once, not sleep; `timeout` is how long the lock waiter's thread waits instead."""
        kwargs["check_same_thread"] = False  # the lock waiter's thread uses it too, one at a time
        return Connection(sqlite3.connect(database, timeout=0.0, **kwargs), timeout)


class SQLiteDialect_onloop(SQLiteDialect_pysqlite):  # noqa: N801 (SQLAlchemy's naming of dialects)
    driver = "onloop"
    is_async = True
    supports_statement_cache = True
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> Any:
        return DBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool


registry.register("sqlite.onloop", __name__, "SQLiteDialect_onloop")
# the stock driver under a name of its own, so a benchmark can still run it beside this one
registry.register("sqlite.aiosqlite_stock", "sqlalchemy.dialects.sqlite.aiosqlite", "SQLiteDialect_aiosqlite")
