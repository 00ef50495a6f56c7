"""Fresh, migrated databases for tests: SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from storage import migrate

PG_ENV = "TEST_DATABASE_URL"


def postgres_url() -> str | None:
    url = os.environ.get(PG_ENV)
    return url if url and url.startswith("postgresql") else None


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


class SqliteTemplate:
    """Migrates once per test session; each test copies the file (cheaper than migrating)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{self.path}"))

    def fresh(self, directory: Path) -> str:
        target = directory / "bot.db"
        shutil.copyfile(self.path, target)
        return f"sqlite+aiosqlite:///{target}"


async def admin_sql(url: str, sql: str) -> None:
    """Runs one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create_database(url: str, template: str | None = None) -> tuple[str, str]:
    """A new database on the server of `url`; returns its URL and name."""
    name = f"redeem_t_{uuid.uuid4().hex[:12]}"
    suffix = f' TEMPLATE "{template}"' if template else ""
    await admin_sql(url, f'CREATE DATABASE "{name}"{suffix}')
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


async def drop_database(url: str, name: str) -> None:
    await admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def fresh_database(server: str | None, folder: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database: a SQLite file in `folder` when `server` is None, else a
    new database on that PostgreSQL server, dropped afterwards (the benchmarks' one path)."""
    if server is None:
        yield f"sqlite+aiosqlite:///{folder}/bot.db"
        return
    url, name = await create_database(server)
    try:
        yield url
    finally:
        await drop_database(server, name)


class PostgresTemplate:
    """A migrated template database; each test gets `CREATE DATABASE … TEMPLATE` of it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.template = f"redeem_tmpl_{uuid.uuid4().hex[:10]}"
        asyncio.run(self._create_template())

    async def _create_template(self) -> None:
        await admin_sql(self.url, f'CREATE DATABASE "{self.template}"')
        await migrate.upgrade(make_url(self.url).set(database=self.template).render_as_string(hide_password=False))

    async def fresh(self) -> tuple[str, str]:
        return await create_database(self.url, self.template)

    async def drop(self, name: str) -> None:
        await drop_database(self.url, name)

    def close(self) -> None:
        asyncio.run(self.drop(self.template))
