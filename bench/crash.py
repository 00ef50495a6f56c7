"""The long crash run: many customers and kills, on SQLite and PostgreSQL; prints a table.

    .venv/bin/python bench/crash.py --customers 30 --kills 50 [--postgres URL]

Customers redeem one after another (the bot killed right before and after replies reach them and
at random calls), the review
cards drain (killed mid-album, mid-card and at random calls), staff approve (killed before the
card's edit, mid-decision and at random calls); a SIGTERM restart while the cards drain is run
separately. See tests/crash_run.py; tests/test_crash_recovery.py is the short version in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import migrate  # noqa: E402
from tests import crash_run  # noqa: E402
from tests.databases import fresh_database  # noqa: E402


def plan(kills: int, rng: random.Random) -> crash_run.Plan:
    """About a fifth of the kills while customers type, two fifths while cards drain, the rest
    while staff decide; each phase mixes the chosen moments with random calls."""
    typing_pool = [crash_run.before_reply, crash_run.after_reply]
    typing = [
        rng.choice(typing_pool) if rng.random() < 0.6 else crash_run.every_nth(rng.randint(3, 12))
        for _ in range(max(1, kills // 5))
    ]
    draining_pool = [crash_run.mid_album, crash_run.mid_card]
    deciding_pool = [crash_run.before_staff_reply, crash_run.mid_decision]
    draining = [
        rng.choice(draining_pool) if rng.random() < 0.6 else crash_run.every_nth(rng.randint(1, 6))
        for _ in range(kills * 2 // 5)
    ]
    deciding = [
        rng.choice(deciding_pool) if rng.random() < 0.6 else crash_run.every_nth(rng.randint(1, 6))
        for _ in range(kills - len(typing) - len(draining))
    ]
    return crash_run.Plan(typing=typing, draining=draining, deciding=deciding)


async def one(database: str, url: str, customers: int, kills: int, seed: int, sigterm: bool) -> crash_run.Report:
    """One run on a fresh, migrated database (a new one on the PostgreSQL server, dropped after)."""
    chosen = crash_run.Plan(sigterm_during_drain=True) if sigterm else plan(kills, random.Random(seed))
    with tempfile.TemporaryDirectory() as tmp:
        async with fresh_database(None if database == "sqlite" else url, Path(tmp)) as db_url:
            await migrate.upgrade(db_url)
            return await crash_run.run(Path(tmp), db_url, customers=customers, plan=chosen)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=30)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgres",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        help="server for the PostgreSQL run; '' skips it",
    )
    args = parser.parse_args()
    databases = ["sqlite"] + (["postgresql"] if args.postgres else [])
    rows: dict[str, dict[str, int]] = {}
    for database in databases:
        kill_run = await one(database, args.postgres, args.customers, args.kills, args.seed, sigterm=False)
        term_run = await one(database, args.postgres, args.customers, 0, args.seed, sigterm=True)
        rows[database] = {
            **vars(kill_run),
            "sigterm_cards_missing": term_run.cards_missing,
            "sigterm_duplicates": term_run.duplicates,
            "sigterm_unsettled": term_run.outbox_unsettled,
        }
    names = list(next(iter(rows.values())))
    print("| after the run | " + " | ".join(databases) + " |")
    print("| --- | " + " | ".join("---:" for _ in databases) + " |")
    for name in names:
        print(f"| {name} | " + " | ".join(str(rows[d][name]) for d in databases) + " |")
    bad = any(
        r["cards_missing"]
        or r["decisions_missing"]
        or r["outbox_unsettled"]
        or r["card_duplicates"] + r["decision_duplicates"] > r["kills"]
        or r["sigterm_cards_missing"]
        for r in rows.values()
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
