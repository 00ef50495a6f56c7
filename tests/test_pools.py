"""Pool settings reach what they size: the database engine, the Bot API transport, the reply
rate. Defaults are sized for 200 customers at once (SQLAlchemy's 5 + 10 and a 1 s HTTP pool
timeout were not)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import replies
from bot.config import ConfigError, load_settings
from bot.runtime import BotRuntime
from bot.transport import AiohttpRequest
from emulator import Emulator
from storage.clock import FakeClock
from storage.db import PoolLimits, create_engine, make_session_factory, unit_of_work
from tests.conftest import make_settings
from tests.databases import admin_sql


async def test_pool_settings_reach_the_engine_the_transport_and_the_replies(
    emulator: Emulator, db_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        emulator,
        db_url,
        tmp_path,
        database_pool_size=7,
        database_max_overflow=3,
        database_pool_timeout_seconds=12.5,
        bot_api_pool_size=33,
        bot_api_pool_timeout_seconds=4.5,
        reply_rate_per_second=12,
    )
    runtime = BotRuntime(settings, clock=FakeClock(), poll_timeout=1, timed_jobs=False, outbox_interval=None)
    await runtime.start()
    try:
        assert runtime.services is not None and runtime.application is not None
        pool = runtime.services.engine.pool
        if make_url(db_url).get_backend_name() == "sqlite":
            assert (pool.size(), pool._max_overflow) == (1, 0)  # type: ignore[attr-defined]  # one writer, always
        else:
            assert (pool.size(), pool._max_overflow) == (7, 3)  # type: ignore[attr-defined]
        assert pool.timeout() == 12.5  # type: ignore[attr-defined]
        request = runtime.application.bot.request
        assert isinstance(request, AiohttpRequest)
        assert (request.connection_pool_size, request.pool_timeout) == (33, 4.5)
        assert runtime.application.bot_data[replies.BOT_DATA_KEY].rate_per_second == 12
        me = await runtime.application.bot.get_me()  # the transport works with them
        assert me.username == emulator.bot_user["username"]
    finally:
        await runtime.stop()


def test_defaults_are_sized_for_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_pool == PoolLimits(size=10, max_overflow=20, timeout=30.0)
    assert (settings.bot_api_pool_size, settings.bot_api_pool_timeout_seconds, settings.reply_rate_per_second) == (
        128,
        10.0,
        20.0,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_POOL_SIZE", "0"),
        ("DATABASE_MAX_OVERFLOW", "-1"),
        ("DATABASE_POOL_TIMEOUT_SECONDS", "0"),
        ("BOT_API_POOL_SIZE", "0"),
        ("BOT_API_POOL_TIMEOUT_SECONDS", "-2"),
        ("REPLY_RATE_PER_SECOND", "0"),
    ],
)
def test_a_bad_pool_setting_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        load_settings()


async def test_an_explicit_engine_argument_still_wins(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", PoolLimits(timeout=3.0), pool_timeout=9)
    try:
        assert engine.pool.timeout() == 9  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


def _postgres_only(db_url: str) -> None:
    if make_url(db_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite has no connection to lose: a file, one connection per process")


async def _backend_pid(engine: AsyncEngine) -> int:
    async with unit_of_work(make_session_factory(engine)) as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_back_a_moment_ago_is_not_pinged(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The round trips pool_pre_ping spent on every checkout (asyncpg: a transaction around a query)."""
    _postgres_only(db_url)
    engine = create_engine(db_url, PoolLimits(ping_after_idle=60.0))
    pings: list[object] = []
    ping = engine.sync_engine.dialect.do_ping
    monkeypatch.setattr(engine.sync_engine.dialect, "do_ping", lambda c: pings.append(c) or ping(c))
    try:
        pids = {await _backend_pid(engine) for _ in range(5)}
        assert pings == []
        assert len(pids) == 1  # last in, first out: the warm connection serves again
    finally:
        await engine.dispose()


async def test_an_idle_connection_the_server_closed_is_replaced_before_use(db_url: str) -> None:
    _postgres_only(db_url)
    engine = create_engine(db_url, PoolLimits(ping_after_idle=0.0))  # every checkout counts as idle
    try:
        first = await _backend_pid(engine)
        await admin_sql(db_url, f"SELECT pg_terminate_backend({first}, 5000)")  # waits until it is gone
        second = await _backend_pid(engine)  # no error: the ping found it dead, the pool reconnected
        assert second != first
    finally:
        await engine.dispose()
