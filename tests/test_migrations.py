"""Migrations build the whole schema on an empty database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from storage import migrate
from storage.db import create_engine
from storage.models import Base
from tests.databases import create_database, drop_database, postgres_url


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


async def test_upgrade_builds_schema_on_empty_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'empty.db'}"
    assert await migrate.current_revision(url) is None
    await migrate.upgrade(url)
    assert await _tables(url) == set(Base.metadata.tables) | {"alembic_version"}
    head = await migrate.current_revision(url)
    await migrate.upgrade(url)  # a second run is a no-op
    assert await migrate.current_revision(url) == head


async def test_upgrade_builds_schema_on_postgresql() -> None:
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL run skipped: TEST_DATABASE_URL is not set")
    empty_url, name = await create_database(url)
    try:
        assert await migrate.current_revision(empty_url) is None
        await migrate.upgrade(empty_url)
        assert await _tables(empty_url) == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        await drop_database(url, name)


# SQLite cannot reflect the two expression indexes (lower(email), upper(invoice)); the rest is compared.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
async def test_models_match_migrations(tmp_path: Path) -> None:
    """A model change without a migration fails here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await migrate.upgrade(url)
    engine = create_engine(url)
    async with engine.connect() as connection:
        diff = await connection.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    await engine.dispose()
    assert diff == []
