"""A serving bot migrates in a child process, so Alembic never stays in its memory (issue 11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from storage import migrate
from storage.db import create_engine
from storage.models import Base

ROOT = Path(__file__).resolve().parent.parent


async def test_the_child_builds_the_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await migrate.upgrade_in_child(url)
    engine = create_engine(url)
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert await migrate.current_revision(url) is not None


async def test_a_failing_child_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(migrate.MigrationFailed, match="(?i)error"):
        await migrate.upgrade_in_child(f"sqlite+aiosqlite:///{blocker / 'bot.db'}")


def test_serving_imports_no_alembic() -> None:
    """What `python -m bot run` imports to serve (the runtime, the application) leaves Alembic out."""
    probe = "import sys, bot.runtime, bot.application; print('alembic' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
