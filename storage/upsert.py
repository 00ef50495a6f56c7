"""INSERT … ON CONFLICT for the two databases the project runs on, as one statement.

One statement instead of a read then a write, or a savepoint around an insert that may lose a
race: both cost round trips on every update that uses them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, entity: Any) -> Any:
    """The dialect's INSERT construct (with `on_conflict_do_nothing/update`) for `entity`."""
    dialect = session.bind.dialect.name
    if dialect == "postgresql":
        return pg_insert(entity)
    if dialect == "sqlite":
        return sqlite_insert(entity)
    raise NotImplementedError(f"INSERT … ON CONFLICT is not written for {dialect}")  # pragma: no cover
