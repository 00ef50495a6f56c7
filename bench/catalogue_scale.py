"""Does an update's cost grow with the data? The serial + CHK steps against 10 and 10,000 catalogue
products, and a member's redeem options and a review card against 100 and 100,000 claims.

Run from the repository root:

    .venv/bin/python bench/catalogue_scale.py                       # SQLite file in a temp dir
    .venv/bin/python bench/catalogue_scale.py --url postgresql+asyncpg://postgres@127.0.0.1:5432/empty_db
    .venv/bin/python bench/catalogue_scale.py --products 10 3000 10000 --claims 100 100000 --rounds 200

The schema comes from the models (`create_all`), so the same script measures an older checkout
(`PYTHONPATH=/path/to/old/tree`) for a before/after. Each call runs in its own unit of work, as the
bot runs a step; the time is the mean per call after one warm-up (the first call of a process
loads the catalogue snapshot, printed apart). The catalogue: one pattern per product (`S00042`
and six digits), every other product "keyed" (its CHK an HMAC of the serial), the others with five
listed serials each; the serial looked up belongs to the last product, typed with a look-alike
("O" for "0") the lookup has to correct.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/catalogue_scale.py` puts bench/, not the root, on the path
    sys.path.append(str(ROOT))  # appended: a PYTHONPATH=/old/tree comes first, for a before/after

from sqlalchemy import insert, text, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from storage import catalogue, registration, review_queries  # noqa: E402
from storage.db import SessionFactory, create_engine, make_session_factory, unit_of_work  # noqa: E402
from storage.models import (  # noqa: E402
    Base,
    CatalogueProduct,
    CatalogueSerial,
    Claim,
    ClaimItem,
    Member,
    Promotion,
    RegisteredProduct,
    SerialAttempt,
)
from storage.redeem_options import redeem_options  # noqa: E402

try:
    from storage.db import optimize
except ImportError:  # an older checkout, measured for a before/after
    optimize = None  # type: ignore[assignment]

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
SECRET = "bench-secret"
CHUNK = 5000


async def _fresh(url: str | None, tmp: Path, name: str) -> SessionFactory:
    engine = create_engine(url or f"sqlite+aiosqlite:///{tmp / name}.db")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    return make_session_factory(engine)


async def _insert(session: AsyncSession, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(model), rows[start : start + CHUNK])


def _member(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "telegram_user_id": 10_000 + i,
        "chat_id": 10_000 + i,
        "language": "en",
        "consent_at": NOW,
        "email": f"user{i}@example.com",
        "first_name": "Bench",
        "last_name": f"User{i}",
        "country": "SG",
        "profile_completed_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }


async def _timed(sessions: SessionFactory, rounds: int, call: Callable[[AsyncSession], Awaitable[Any]]) -> float:
    """Mean milliseconds per call, each in its own unit of work, after one warm-up call."""
    async with unit_of_work(sessions) as session:
        await call(session)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        async with unit_of_work(sessions) as session:
            await call(session)
        times.append(time.perf_counter() - started)
    return statistics.mean(times) * 1000


# ---------------------------------------------------------------- the catalogue


async def catalogue_case(url: str | None, tmp: Path, products: int, rounds: int) -> dict[str, float]:
    sessions = await _fresh(url, tmp, f"catalogue{products}")
    async with unit_of_work(sessions) as s:
        await _insert(s, Member, [_member(1)])
        rows = [
            {
                "id": i + 1,
                "category": "monitor",
                "name": f"Model {i}",
                "model": f"M{i:05d}",
                "warranty_months": 24,
                "serial_pattern": f"^S{i:05d}[0-9]{{6}}$",
                "chk_mode": "keyed" if i % 2 else "list",
            }
            for i in range(products)
        ]
        await _insert(s, CatalogueProduct, rows)
        serials = [
            {"product_id": i + 1, "serial": f"S{i:05d}{j:06d}", "chk": f"{j:03d}"}
            for i in range(0, products, 2)
            for j in range(1, 6)
        ]
        await _insert(s, CatalogueSerial, serials)
    last_list = (products - 1) // 2 * 2
    last_keyed = last_list + 1 if last_list + 1 < products else last_list - 1
    listed = f"S{last_list:05d}000003".replace("0", "O", 1)  # a look-alike to correct
    keyed = f"S{last_keyed:05d}123456"

    def steps(typed: str, chk: str) -> Callable[[AsyncSession], Awaitable[Any]]:
        async def serial_and_chk(session: AsyncSession) -> None:
            match = await catalogue.find_serial(session, typed)
            assert match is not None, typed
            await registration.serial_owner(session, 1, match.serial, NOW)
            result = await registration.check_chk(session, 1, match.serial, chk, NOW, SECRET)
            assert result.outcome is registration.ChkOutcome.OK, result

        return serial_and_chk

    first_started = time.perf_counter()
    async with unit_of_work(sessions) as s:
        await steps(listed, "003")(s)
    first = (time.perf_counter() - first_started) * 1000
    out = {
        "first call": first,
        "listed serial + CHK": await _timed(sessions, rounds, steps(listed, "003")),
        "keyed serial + CHK": await _timed(
            sessions,
            rounds,
            steps(keyed, catalogue.keyed_chk(keyed, SECRET)) if last_keyed >= 0 else steps(listed, "003"),
        ),
    }
    await sessions.kw["bind"].dispose()
    return out


# ---------------------------------------------------------------- claims


async def claims_case(url: str | None, tmp: Path, claims: int, rounds: int) -> dict[str, float]:
    sessions = await _fresh(url, tmp, f"claims{claims}")
    members = max(claims // 2, 2)
    async with unit_of_work(sessions) as s:
        await _insert(s, Member, [_member(i) for i in range(1, members + 1)])
        await _insert(
            s,
            CatalogueProduct,
            [{"id": 1, "category": "monitor", "name": "PRO MP241", "model": "MP241", "warranty_months": 24}],
        )
        promotion = {
            "id": 1,
            "slug": "bench",
            "names": {"en": "Bench"},
            "starts_on": date(2026, 1, 1),
            "ends_on": date(2026, 12, 31),
            "invoice_from": date(2026, 1, 1),
            "invoice_to": date(2026, 12, 31),
            "redeem_limit_per_email": 5,
            "eligible_models": ["MP241"],
            "eligible_countries": ["SG"],
            "prize_kind": "physical",
            "prize_description": {},
            "draw_prize": {},
            "while_stock_lasts": True,
            "prize_stock": claims * 2,
        }
        await _insert(s, Promotion, [promotion])
        # Two products per member: the first claimed, the second free to redeem.
        products = [
            {
                "id": i,
                "member_id": (i - 1) % members + 1,
                "catalogue_product_id": 1,
                "serial": f"P{i:08d}",
                "purchase_country": "SG",
                "store_name": f"Store {i % 50}",
                "purchase_date": date(2026, 3, 3),
                "channel": "retail",
                "invoice_path": f"invoices/{i}.jpg",
                "invoice_sha256": f"{i:064x}",
                "invoice_number": f"INV-{i}",
                "registered_at": NOW,
            }
            for i in range(1, claims + members + 1)
        ]
        await _insert(s, RegisteredProduct, products)
        claim_rows = [
            {
                "id": i,
                "order_id": f"O{i:09d}",
                "member_id": (i - 1) % members + 1,
                "promotion_id": 1,
                "email": f"User{(i - 1) % members + 1}@Example.com",
                "status": "review" if i % 3 else "approved",
                "idempotency_key": f"k{i}",
                "submitted_at": NOW,
                "attempt": 1,
            }
            for i in range(1, claims + 1)
        ]
        await _insert(s, Claim, claim_rows)
        items = [
            {"claim_id": i, "registered_product_id": i, "sn_photo_sha256": f"{i:063x}a"} for i in range(1, claims + 1)
        ]
        await _insert(s, ClaimItem, items)
        attempts = [
            {"member_id": i % members + 1, "serial": f"P{i:08d}", "kind": "duplicate", "at": NOW}
            for i in range(1, claims + 1, 10)
        ]
        await _insert(s, SerialAttempt, attempts)
        if sessions.kw["bind"].dialect.name == "postgresql":
            await s.execute(text("ANALYZE"))  # as autovacuum would
    member_id = members // 2

    async def options(session: AsyncSession) -> None:
        member = await session.get(Member, member_id)
        assert member is not None
        found = await redeem_options(session, member, NOW)
        assert found and found[0].eligible, found

    async def card(session: AsyncSession) -> None:
        assert await review_queries.card(session, claims // 2) is not None

    out = {
        "redeem options": await _timed(sessions, rounds, options),
        "review card": await _timed(sessions, rounds, card),
    }
    if optimize is not None:  # the bot's hourly job: SQLite's planner gets the statistics it missed
        await optimize(sessions)
        out["redeem options, optimized"] = await _timed(sessions, rounds, options)
        out["review card, optimized"] = await _timed(sessions, rounds, card)
    async with unit_of_work(sessions) as s:  # the prize stock is counted from the live claims: the rest
        await s.execute(update(Promotion).values(while_stock_lasts=False))
    out["redeem options, no stock limit"] = await _timed(sessions, rounds, options)
    await sessions.kw["bind"].dispose()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="an empty database to use instead of a SQLite file (its tables are replaced)")
    parser.add_argument("--products", type=int, nargs="+", default=[10, 10_000])
    parser.add_argument("--claims", type=int, nargs="+", default=[100, 100_000])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        header = ("catalogue products", "first call", "listed serial + CHK", "keyed serial + CHK")
        print(" | ".join(f"{name:>{width}}" for name, width in zip(header, (20, 10, 19, 18), strict=True)))
        for count in args.products:
            got = await catalogue_case(args.url, Path(tmp), count, args.rounds)
            print(
                f"{count:>20,} | {got['first call']:>7.2f} ms | {got['listed serial + CHK']:>16.2f} ms"
                f" | {got['keyed serial + CHK']:>15.2f} ms"
            )
        print(f"\n{'claims':>20} | {'redeem options':>14} | {'review card':>11} | after the hourly PRAGMA optimize")
        for count in args.claims:
            got = await claims_case(args.url, Path(tmp), count, args.rounds)
            tuned = (
                f"{got['redeem options, optimized']:.2f} ms | {got['review card, optimized']:.2f} ms"
                if "review card, optimized" in got
                else "—"
            )
            print(
                f"{count:>20,} | {got['redeem options']:>11.2f} ms | {got['review card']:>8.2f} ms | {tuned}"
                f" | without a stock limit: redeem options {got['redeem options, no stock limit']:.2f} ms"
            )


if __name__ == "__main__":
    asyncio.run(main())
