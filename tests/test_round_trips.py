"""Statements and transactions per update over a scripted journey, counted on the bot's engine.

Every statement is a round trip (a network one on PostgreSQL; on SQLite a call into the
library, four thread hand-offs when it ran on aiosqlite), so the count is what an update costs
the database. Two bills are counted apart, as they are not the
step's: the polling inbox (received_updates: one row per update kept until processed,
bot/polling.py, paid per batch) and the ids of uploaded pictures (uploaded_files, bot/uploads.py:
read once per process, written once per picture). The catalogue snapshot is loaded before the
journey, as a running bot has it (storage/catalogue_cache.py). A regression fails with the counts
per step in the message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import catalogue_cache
from storage.db import unit_of_work
from tests.conftest import BotHarness
from tests.factories import customer, invoice_jpeg
from tests.harness import Person

STEP_STATEMENTS = 3  # a typical step: the claim, member + state in one read, the state's write
# Steps that do domain work: the serial (listed serials, owner), the CHK (lock-out, listed serial),
# the confirmation (owner, product, invoice fingerprint, audit, end of the journey).
HEAVY_STATEMENTS = {"serial": 5, "chk": 5, "confirm": 7}
# The same budgets on both databases: PostgreSQL's advisory lock on the user rides in the claim's
# statement (storage.updates.claim_for_user, called by bot/turns.py); SQLite's BEGIN IMMEDIATE is its lock.


APART = ("received_updates", "uploaded_files")


def _apart(statement: str) -> str | None:
    """The table of a bill counted apart, or None for the step's own statements."""
    return next((table for table in APART if table in statement), None)


@dataclass
class Counter:
    """Statements and transactions on the engine, by connection, the inbox's kept apart."""

    statements: list[str] = field(default_factory=list)
    transactions: int = 0
    apart: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # "<table> statements/transactions"
    _open: dict[int, list[str]] = field(default_factory=dict)

    def attach(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._execute)
        event.listen(sync, "begin", self._begin)
        event.listen(sync, "commit", self._end)
        event.listen(sync, "rollback", self._end)

    def detach(self, engine: AsyncEngine) -> None:
        sync = engine.sync_engine
        event.remove(sync, "before_cursor_execute", self._execute)
        event.remove(sync, "begin", self._begin)
        event.remove(sync, "commit", self._end)
        event.remove(sync, "rollback", self._end)

    def _begin(self, conn: Any) -> None:
        self._open[id(conn)] = []

    def _end(self, conn: Any) -> None:
        done = self._open.pop(id(conn), None)
        if done is None:
            return
        tables = {_apart(s) for s in done}
        if done and len(tables) == 1 and None not in tables:
            self.apart[f"{tables.pop()} transactions"] += 1
        else:
            self.transactions += 1

    def _execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: the transaction, counted as one
            return
        self._open.setdefault(id(conn), []).append(statement)
        table = _apart(statement)
        if table is not None:
            self.apart[f"{table} statements"] += 1
        else:
            self.statements.append(statement)

    def take(self) -> tuple[list[str], int]:
        taken, self.statements = self.statements, []
        transactions, self.transactions = self.transactions, 0
        return taken, transactions


@dataclass
class StepCount:
    name: str
    statements: list[str]
    transactions: int

    def line(self) -> str:
        return f"{self.name:<12} {len(self.statements):>2} statements, {self.transactions} transactions"


async def _journey(alice: Person) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    """A dozen typical steps: commands, buttons, typed answers, a photo, the confirmation."""

    async def step(action: Awaitable[None], *expected: str) -> None:
        await action
        await alice.expect(*expected)

    return [
        ("/help", lambda: step(alice.send("/help"), "/register")),
        ("/register", lambda: step(alice.send("/register"), "Which kind of product")),
        ("category", lambda: step(alice.press("Monitor"), "serial number")),
        ("serial", lambda: step(alice.send("BA9H040230046"), "PRO MP241")),
        ("confirm-one", lambda: step(alice.press("✅ Yes, that's mine"), "CHK")),
        ("chk", lambda: step(alice.send("318"), "where did you buy it")),
        ("region", lambda: step(alice.press("Singapore"), "Choose the store")),
        ("store", lambda: step(alice.press("Courts"), "When did you buy it")),
        ("date", lambda: step(alice.send("03/03/2026"), "where did you purchase")),
        ("channel", lambda: step(alice.press("Online retailer"), "invoice")),
        ("photo", lambda: step(alice.send_photo(invoice_jpeg()), "invoice number")),
        ("number", lambda: step(alice.send("INV-1"), "Please check")),
        ("confirm", lambda: step(alice.press("✅ Confirm"), "is registered")),
        ("/products", lambda: step(alice.send("/products"), "PRO MP241")),
    ]


@pytest.mark.quiet_staff_chat  # no outbox drains in the background: only the updates' own work is counted
async def test_statements_and_transactions_per_step(bot: BotHarness) -> None:
    alice = await customer(bot, 1001, "Alice")
    async with unit_of_work(bot.sessions) as s:  # the catalogue snapshot is loaded once per process, not per step
        await catalogue_cache.snapshot(s)
    engine = bot.sessions.kw["bind"]
    counter = Counter()
    counter.attach(engine)
    counts: list[StepCount] = []
    try:
        for name, run in await _journey(alice):
            counter.take()
            await run()
            statements, transactions = counter.take()
            counts.append(StepCount(name, statements, transactions))
    finally:
        counter.detach(engine)
    total = sum(len(c.statements) for c in counts)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for c in counts:
        by_kind[c.name].append(len(c.statements))
    report = "\n".join(c.line() for c in counts) + (
        f"\n{total / len(counts):.2f} statements per update over {len(counts)} updates; "
        f"counted apart: {dict(counter.apart)}"
    )
    print(report)
    print("\n".join(f"    {c.name}: " + " | ".join(s.split("\n")[0][:90] for s in c.statements) for c in counts))
    over = [
        c for c in counts if len(c.statements) > HEAVY_STATEMENTS.get(c.name, STEP_STATEMENTS) or c.transactions != 1
    ]
    assert not over, "over budget:\n" + "\n".join(c.line() for c in over) + "\n\nall steps:\n" + report
