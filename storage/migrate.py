"""Applies the Alembic migrations shipped in `storage/migrations` to a database URL.

Alembic is imported only when a migration runs: a serving bot migrates in a child process
(`upgrade_in_child`, `python -m storage.migrate`), so Alembic's ~9 MB never stay in its memory.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from storage.db import create_engine

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """Alembic's config built in code, so no alembic.ini has to sit in the working directory."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Brings the schema to `revision` (default: the newest)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, alembic_config(url), revision)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    from alembic import command

    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def current_revision(url: str) -> str | None:
    """The revision a database is at, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


class MigrationFailed(RuntimeError):
    """The child process that migrates the database exited with an error (its output attached)."""


async def upgrade_in_child(url: str) -> None:
    """`upgrade(url)` in a child process, so this process never loads Alembic. The URL goes by
    environment, not argv, so a password in it does not show in the process list."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "storage.migrate",
        env={**os.environ, "MIGRATE_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await child.communicate()
    if child.returncode != 0:
        raise MigrationFailed(output.decode(errors="replace").strip()[-4000:])


if __name__ == "__main__":
    asyncio.run(upgrade(os.environ["MIGRATE_DATABASE_URL"]))
