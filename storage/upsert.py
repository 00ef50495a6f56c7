"""INSERT … ON CONFLICT for the two databases the project runs on, as one statement.

One statement instead of a read then a write, or a savepoint around an insert that may lose a
race: both cost round trips on every update that uses them.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Table, TextClause, TextualSelect, bindparam, text
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


@functools.cache
def cached_upsert(
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...] = (),
    returning: tuple[str, ...] = (),
    rows: int = 1,
) -> TextClause | TextualSelect:
    """INSERT … ON CONFLICT (DO NOTHING, or DO UPDATE SET the `update` columns) of `rows` rows,
    RETURNING the `returning` columns, as SQL text built once per shape, for the statements every
    update runs. With more than one row the parameters are named by `row_parameters`.

    SQLAlchemy 2.0's ON CONFLICT inserts opt out of its statement cache (`inherit_cache = False`
    on both dialects' Insert), so each execution compiled them again: a fifth of the CPU of a
    typical step's unit of work. A text statement is cached like any other. The text is the same
    on SQLite (3.35+ for RETURNING) and PostgreSQL; the bind parameters carry the columns' types,
    so values are converted as the ORM would (dates, JSON). Only the named columns are written:
    callers pass every column that has no server default."""
    names = [[c if rows == 1 else f"{c}_{i}" for c in columns] for i in range(rows)]
    values = ", ".join("(" + ", ".join(f":{name}" for name in row) + ")" for row in names)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {values} ON CONFLICT ({', '.join(conflict)}) "
    sql += ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)) if update else "DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(returning)
    binds = [bindparam(name, type_=table.c[c].type) for row in names for c, name in zip(columns, row, strict=True)]
    statement = text(sql).bindparams(*binds)
    return statement.columns(*(table.c[c] for c in returning)) if returning else statement


def row_parameters(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The parameters of a `cached_upsert` of several rows: each row's values, suffixed by its index."""
    return {f"{name}_{i}": value for i, row in enumerate(rows) for name, value in row.items()}
