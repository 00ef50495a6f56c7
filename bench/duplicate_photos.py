"""Duplicate-photo look-up benchmark: storage.fingerprints.find_duplicates with 100,000 stored photos.

Run from the repository root:

    /work/venv/bin/python bench/duplicate_photos.py                    # SQLite, 100,000 rows
    /work/venv/bin/python bench/duplicate_photos.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    /work/venv/bin/python bench/duplicate_photos.py --rows 20000 --lookups 300 --clustered 0

For each database (a fresh, migrated SQLite file in a temp dir; with --postgres also a new
database on that server, dropped afterwards) and each scenario it

1. inserts ROWS fingerprints from 200 members (then ANALYZE on PostgreSQL, as autovacuum would);
2. plants 20 "originals" and, for each, looks up a near copy 1..max_distance bits away (and one
   exact copy), as the second account would: every planted copy must be found, with the right
   distance, and nothing else may come back;
3. times LOOKUPS calls of find_duplicates (the planted ones among random hashes), each in its own
   unit of work as the bot would run it, and prints p50 / p99 / mean per call and the total, plus
   how many rows the indexed band queries fetched on average (the work before the exact Hamming
   test in Python).

Scenarios: "uniform" hashes are random 64-bit values (the best case for the band index: ~1.5 rows
per 16-bit band value at 100,000 rows). "clustered" draws every hash as a template hash with a
few random bits flipped, 1,000 templates: invoices printed from the same few store templates hash
alike, so real data sits between the two. Only lookups that hit a cluster pay for it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/duplicate_photos.py` puts bench/, not the root, on the path
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, or_, select, text  # noqa: E402

from storage import migrate  # noqa: E402
from storage.db import SessionFactory, create_engine, make_session_factory, unit_of_work  # noqa: E402
from storage.fingerprints import BAND_COUNT, _within, bands, find_duplicates, to_signed  # noqa: E402
from storage.models import ImageFingerprint, Member  # noqa: E402

NOW = datetime(2026, 3, 1, tzinfo=UTC)
MEMBERS = 200
PLANTED = 20
CHUNK = 5000


@dataclass
class Outcome:
    database: str
    scenario: str
    rows: int
    insert_s: float
    lookups: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    total_s: float
    fetched_rows: float
    planted_found: int
    planted_expected: int
    unexpected_hits: int


def _flip(value: int, bits: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


class HashSource:
    """Random hashes, uniform or clustered around 1,000 fixed template hashes."""

    def __init__(self, scenario: str, rng: random.Random) -> None:
        self.scenario = scenario
        self.rng = rng
        self.templates = [rng.getrandbits(64) for _ in range(1000)]

    def next(self) -> int:
        if self.scenario == "uniform":
            return self.rng.getrandbits(64)
        return _flip(self.rng.choice(self.templates), self.rng.randint(0, 12), self.rng)

    def many(self, n: int) -> list[int]:
        return [self.next() for _ in range(n)]


def _row(i: int, phash: int, member_id: int, sha: str | None = None) -> dict[str, object]:
    signed = to_signed(phash)
    b0, b1, b2, b3 = bands(signed)
    return {
        "sha256": sha or f"{i:064x}",
        "phash": signed,
        "band0": b0,
        "band1": b1,
        "band2": b2,
        "band3": b3,
        "member_id": member_id,
        "kind": "invoice",
        "registered_product_id": None,
        "claim_id": None,
        "path": None,
        "created_at": NOW,
    }


async def _fill(sessions: SessionFactory, rows: int, source: HashSource, rng: random.Random) -> tuple[list[int], float]:
    """Members and `rows` fingerprints; returns the member ids and the insert time."""
    async with unit_of_work(sessions) as s:
        members = [
            Member(telegram_user_id=10_000 + i, chat_id=10_000 + i, language="en", created_at=NOW, updated_at=NOW)
            for i in range(MEMBERS)
        ]
        s.add_all(members)
        await s.flush()
        member_ids = [m.id for m in members]
    start = time.perf_counter()
    values = source.many(rows)
    for offset in range(0, rows, CHUNK):
        async with unit_of_work(sessions) as s:
            await s.execute(
                insert(ImageFingerprint),
                [
                    _row(offset + i, h, rng.choice(member_ids[1:]))
                    for i, h in enumerate(values[offset : offset + CHUNK])
                ],
            )
    if sessions.kw["bind"].dialect.name == "postgresql":
        # Autovacuum would analyze a table that grew this much within a minute; without
        # statistics the planner guesses a sequential scan (~30 ms instead of ~3 ms).
        async with unit_of_work(sessions) as s:
            await s.execute(text("ANALYZE image_fingerprints"))
    return member_ids, time.perf_counter() - start


async def _fetched(sessions: SessionFactory, phash: int, max_distance: int) -> int:
    """Rows the band queries fetch for one look-up (before the Hamming test and member filter)."""
    columns = (ImageFingerprint.band0, ImageFingerprint.band1, ImageFingerprint.band2, ImageFingerprint.band3)
    near = [c.in_(_within(v, max_distance // BAND_COUNT)) for c, v in zip(columns, bands(phash), strict=True)]
    async with unit_of_work(sessions) as s:
        return int(await s.scalar(select(func.count()).select_from(ImageFingerprint).where(or_(*near))) or 0)


async def _plan(sessions: SessionFactory, dialect: str) -> str:
    sql = (
        "SELECT id FROM image_fingerprints WHERE (sha256 = 'x' OR band0 IN (1, 2) OR band1 IN (3, 4) "
        "OR band2 IN (5, 6) OR band3 IN (7, 8)) AND (member_id != 1 OR registered_product_id IS NOT NULL)"
    )
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    async with unit_of_work(sessions) as s:
        rows = (await s.execute(text(prefix + sql))).all()
    return "\n".join("    " + str(r[-1]) for r in rows)


async def run_one(
    url: str, database: str, scenario: str, rows: int, lookups: int, max_distance: int, seed: int, show_plan: bool
) -> Outcome:
    rng = random.Random(seed)
    await migrate.upgrade(url)
    engine = create_engine(url)
    sessions = make_session_factory(engine)
    try:
        source = HashSource(scenario, rng)
        member_ids, insert_s = await _fill(sessions, rows, source, rng)
        asker = member_ids[0]  # the "second account": stored rows all belong to others
        # Plant originals; the query for each is a copy `distance` bits away (0 = the exact file).
        queries: list[tuple[str, int, int | None]] = []  # (sha, phash, expected planted id)
        async with unit_of_work(sessions) as s:
            for k in range(PLANTED):
                original = source.next()
                sha = f"planted-{k}".ljust(64, "0")
                result = await s.execute(
                    insert(ImageFingerprint).returning(ImageFingerprint.id),
                    _row(0, original, member_ids[1 + k % 10], sha),
                )
                planted_id = result.scalar_one()
                distance = k % (max_distance + 1)
                copy = _flip(original, distance, rng)
                queries.append((sha if distance == 0 else f"copy-{k}".ljust(64, "0"), to_signed(copy), planted_id))
        queries += [(f"q-{i}".ljust(64, "0"), to_signed(source.next()), None) for i in range(lookups - len(queries))]
        rng.shuffle(queries)

        for sha, phash, _ in queries[:20]:  # warm-up: connections, statement caches, pages
            async with unit_of_work(sessions) as s:
                await find_duplicates(
                    s, sha256=sha, phash=phash, member_id=asker, registered_product_id=None, max_distance=max_distance
                )

        times: list[float] = []
        found = unexpected = 0
        start = time.perf_counter()
        for sha, phash, planted_id in queries:
            t0 = time.perf_counter()
            async with unit_of_work(sessions) as s:
                hits = await find_duplicates(
                    s, sha256=sha, phash=phash, member_id=asker, registered_product_id=None, max_distance=max_distance
                )
            times.append(time.perf_counter() - t0)
            ids = {h.fingerprint.id for h in hits}
            if planted_id is not None and planted_id in ids:
                found += 1
            unexpected += len(ids - {planted_id})
        total = time.perf_counter() - start

        fetched = [await _fetched(sessions, phash, max_distance) for _, phash, _ in queries[:100]]
        if show_plan:
            print(f"  query plan ({database}):\n{await _plan(sessions, engine.dialect.name)}")
        times.sort()
        return Outcome(
            database=database,
            scenario=scenario,
            rows=rows + PLANTED,
            insert_s=insert_s,
            lookups=len(queries),
            p50_ms=statistics.median(times) * 1000,
            p99_ms=times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
            mean_ms=statistics.fmean(times) * 1000,
            total_s=total,
            fetched_rows=statistics.fmean(fetched),
            planted_found=found,
            planted_expected=PLANTED,
            unexpected_hits=unexpected,
        )
    finally:
        await engine.dispose()


async def _postgres_database(url: str) -> tuple[str, str]:
    import uuid

    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"bench_fp_{uuid.uuid4().hex[:10]}"
    admin = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


async def _drop_postgres(url: str, name: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def run(args: argparse.Namespace) -> list[Outcome]:
    scenarios = ["uniform"] + (["clustered"] if args.clustered else [])
    outcomes: list[Outcome] = []
    for scenario in scenarios:
        with tempfile.TemporaryDirectory(prefix="dupbench-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            outcomes.append(
                await run_one(
                    url,
                    "sqlite",
                    scenario,
                    args.rows,
                    args.lookups,
                    args.max_distance,
                    args.seed,
                    scenario == "uniform",
                )
            )
            _print(outcomes[-1])
        if args.postgres:
            url, name = await _postgres_database(args.postgres)
            try:
                outcomes.append(
                    await run_one(
                        url,
                        "postgresql",
                        scenario,
                        args.rows,
                        args.lookups,
                        args.max_distance,
                        args.seed,
                        scenario == "uniform",
                    )
                )
                _print(outcomes[-1])
            finally:
                await _drop_postgres(args.postgres, name)
    return outcomes


def _print(o: Outcome) -> None:
    # Uniform hashes: a random query has no neighbour within 6 bits, so any other hit is a bug.
    # Clustered: other members of the same template cluster are genuine near hashes.
    clean = o.unexpected_hits == 0 or o.scenario != "uniform"
    ok = "ok" if o.planted_found == o.planted_expected and clean else "CHECK"
    print(
        f"{o.database:<10} {o.scenario:<9} rows={o.rows:,} (insert {o.insert_s:.1f} s)  "
        f"{o.lookups} lookups: p50 {o.p50_ms:.2f} ms  p99 {o.p99_ms:.2f} ms  mean {o.mean_ms:.2f} ms  "
        f"total {o.total_s:.2f} s  band rows fetched/lookup {o.fetched_rows:.0f}  "
        f"planted copies found {o.planted_found}/{o.planted_expected}, other hits {o.unexpected_hits}  [{ok}]",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000, help="stored fingerprints (default 100,000)")
    parser.add_argument("--lookups", type=int, default=1000, help="timed find_duplicates calls (default 1,000)")
    parser.add_argument("--max-distance", type=int, default=6, help="Hamming radius (default 6, as find_duplicates)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also run on this PostgreSQL server (a scratch database is created and dropped)",
    )
    parser.add_argument(
        "--clustered", type=int, default=1, help="1 (default) also runs the clustered-hash scenario, 0 skips it"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if args.lookups < PLANTED:
        parser.error(f"--lookups must be at least {PLANTED}")
    outcomes = asyncio.run(run(args))
    if any(o.planted_found != o.planted_expected or (o.unexpected_hits and o.scenario == "uniform") for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
