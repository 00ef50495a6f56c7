"""The SQLite drivers side by side on one update's unit of work, interleaved, in one process.

    .venv/bin/python bench/sqlite_drivers.py [--rounds 5] [--units 300] [--concurrency 20]

bench/cpu.py measures the whole bot, and on a shared machine its rows move by ±20 % between
runs; this isolates the database path so the drivers' difference stands out of that noise. Each
unit of work is what a typical step does (storage/updates.claim_for_user, the member and state
in one read, the state's upsert, the commit), `--concurrency` of them at a time as under load.
The drivers take turns in every round on copies of one migrated database, so the machine's load
drifts over all of them alike. CPU time is the process's (every thread: aiosqlite's work runs on
its own), per unit of work; the ratio is each driver's against the stock aiosqlite of the same
round. Results: stdout and bench/results/sqlite_drivers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from storage import conversations, migrate, updates  # noqa: E402
from storage.db import create_engine, make_session_factory, unit_of_work  # noqa: E402

DRIVERS = ["aiosqlite_stock", "onloop"]
RESULTS = ROOT / "bench" / "results" / "sqlite_drivers.json"


async def units(driver: str, path: Path, count: int, concurrency: int, first_update: int) -> dict[str, float]:
    engine = create_engine(f"sqlite+{driver}:///{path}")
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    queue = iter(range(count))

    async def one(n: int) -> None:
        user = 1_000 + n % 200
        async with unit_of_work(sessions) as session:
            await updates.claim_for_user(session, user, first_update + n, now)
            await conversations.member_and_state(session, user)
            data = {"kind": "monitor", "n": n}
            step = {"flow": "register", "step": "serial", "data": data}
            await conversations.save(session, user_id=user, chat_id=user, now=now, **step)

    async def worker() -> None:
        for n in queue:
            await one(n)

    try:
        await asyncio.gather(*(worker() for _ in range(min(20, concurrency))))  # warm: statement cache, pages
        queue = iter(range(count, 2 * count))
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await engine.dispose()
    return {"cpu_ms_per_unit": 1000 * cpu / count, "wall_ms_per_unit": 1000 * wall / count}


async def run(rounds: int, count: int, concurrency: int) -> dict[str, Any]:
    measured: dict[str, list[dict[str, float]]] = {d: [] for d in DRIVERS}
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp_name:
        tmp = Path(tmp_name)
        template = tmp / "template.db"
        await migrate.upgrade(f"sqlite+aiosqlite:///{template}")
        for r in range(rounds):
            order = DRIVERS if r % 2 == 0 else DRIVERS[::-1]  # neither goes first every time
            for driver in order:
                path = tmp / f"{driver}-{r}.db"
                shutil.copyfile(template, path)
                result = await units(driver, path, count, concurrency, first_update=r * 10 * count)
                measured[driver].append(result)
                print(
                    f"round {r + 1} {driver:<16} CPU {result['cpu_ms_per_unit']:.3f} ms/unit  "
                    f"wall {result['wall_ms_per_unit']:.3f} ms/unit  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    summary = {}
    for driver, results in measured.items():
        ratios = [
            base["cpu_ms_per_unit"] / mine["cpu_ms_per_unit"]
            for base, mine in zip(measured["aiosqlite_stock"], results, strict=True)
        ]
        cpu = [m["cpu_ms_per_unit"] for m in results]
        summary[driver] = {
            "cpu_ms_per_unit_median": round(statistics.median(cpu), 3),
            "cpu_ms_per_unit_range": [round(min(cpu), 3), round(max(cpu), 3)],
            "stock_over_this_median": round(statistics.median(ratios), 2),
            "stock_over_this_range": [round(min(ratios), 2), round(max(ratios), 2)],
        }
    print("\nCPU per unit of work (median, range over rounds; stock aiosqlite ÷ this, per round):")
    for driver, s in summary.items():
        lo, hi = s["cpu_ms_per_unit_range"]
        rlo, rhi = s["stock_over_this_range"]
        print(
            f"  {driver:<16} {s['cpu_ms_per_unit_median']:.3f} ms ({lo:.3f}–{hi:.3f})   "
            f"{s['stock_over_this_median']:.2f}× ({rlo:.2f}–{rhi:.2f})"
        )
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {"rounds": rounds, "units": count, "concurrency": concurrency},
        "load_average_at_end": os.getloadavg(),
        "summary": summary,
        "rounds": measured,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--units", type=int, default=300, help="timed units of work per driver and round")
    parser.add_argument("--concurrency", type=int, default=20, help="units of work at a time")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = asyncio.run(run(args.rounds, args.units, args.concurrency))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
