"""Payout and shipment files at a promotion's scale: export, import, and the same import again.

Run from the repository root:

    .venv/bin/python bench/batches.py                       # SQLite, 5,000 approved claims
    .venv/bin/python bench/batches.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/batches.py --claims 20000

For each database (a fresh, migrated SQLite file in a temp dir; with --postgres also a new
database on that server, dropped afterwards) it stores CLAIMS approved claims of a cashback
promotion, each with an IBAN, then times, each in one unit of work as the CLI runs it:

1. `payouts.write_csv` (the export finance gets);
2. `payouts.import_csv` of that file with every row paid (CLAIMS payments, CLAIMS messages queued);
3. the same import again (every row unchanged, nothing queued).

It checks what a run must give (rows exported, applied, unchanged, messages queued once each) and
prints the times; nothing here is a pass/fail speed target.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/batches.py` puts bench/, not the root, on the path
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from storage import migrate, payouts  # noqa: E402
from storage.db import create_engine, make_session_factory, unit_of_work  # noqa: E402
from storage.demo import load_demo_data  # noqa: E402
from storage.models import (  # noqa: E402
    CatalogueProduct,
    Claim,
    ClaimItem,
    Fulfilment,
    Member,
    OutboxMessage,
    Promotion,
    RegisteredProduct,
)
from tests.databases import fresh_database  # noqa: E402

APPROVED = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
PAID = date(2026, 3, 20)
CHUNK = 2000


async def _seed(url: str, count: int) -> None:
    sessions = make_session_factory(create_engine(url))
    async with unit_of_work(sessions) as s:
        await load_demo_data(s)
        promotion = await s.scalar(select(Promotion).where(Promotion.slug == "spring-2026"))
        assert promotion is not None
        promotion.prize_kind, promotion.cashback_amount, promotion.currency = "cashback", Decimal("50.00"), "SGD"
        product_id = await s.scalar(select(CatalogueProduct.id).limit(1))
        promotion_id = promotion.id
    for start in range(0, count, CHUNK):
        numbers = range(start, min(start + CHUNK, count))
        async with unit_of_work(sessions) as s:
            members = [
                {
                    "telegram_user_id": 10_000_000 + n,
                    "chat_id": 10_000_000 + n,
                    "language": "en",
                    "email": f"c{n}@example.com",
                    "first_name": "Customer",
                    "last_name": str(n),
                    "country": "SG",
                    "created_at": APPROVED,
                    "updated_at": APPROVED,
                }
                for n in numbers
            ]
            member_ids = list(await s.scalars(insert(Member).returning(Member.id), members))
            rows = [
                {
                    "member_id": member_id,
                    "catalogue_product_id": product_id,
                    "serial": f"BENCH{n:09d}",
                    "purchase_country": "SG",
                    "store_name": "Courts",
                    "purchase_date": date(2026, 3, 3),
                    "channel": "retail",
                    "invoice_number": f"INV-{n}",
                    "registered_at": APPROVED,
                }
                for n, member_id in zip(numbers, member_ids, strict=True)
            ]
            product_ids = list(await s.scalars(insert(RegisteredProduct).returning(RegisteredProduct.id), rows))
            claims = [
                {
                    "order_id": f"b{n:09d}",
                    "member_id": member_id,
                    "promotion_id": promotion_id,
                    "email": f"c{n}@example.com",
                    "status": "approved",
                    "attempt": 1,
                    "idempotency_key": f"bench-{n}",
                    "submitted_at": APPROVED,
                    "decided_at": APPROVED,
                }
                for n, member_id in zip(numbers, member_ids, strict=True)
            ]
            claim_ids = list(await s.scalars(insert(Claim).returning(Claim.id), claims))
            await s.execute(
                insert(ClaimItem),
                [{"claim_id": c, "registered_product_id": p} for c, p in zip(claim_ids, product_ids, strict=True)],
            )
            payout = {"method": "iban", "holder": "Customer", "iban": "DE89370400440532013000"}
            await s.execute(
                insert(Fulfilment),
                [
                    {"claim_id": c, "purpose": "prize", "state": "approved", "payout": payout, "updated_at": APPROVED}
                    for c in claim_ids
                ],
            )


async def _run(label: str, url: str, count: int) -> dict[str, object]:
    await migrate.upgrade(url)
    await _seed(url, count)
    sessions = make_session_factory(create_engine(url))
    now = datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
    out = io.StringIO()
    started = time.perf_counter()
    async with unit_of_work(sessions) as s:
        exported = await payouts.write_csv(s, out, "spring-2026")
    export_s = time.perf_counter() - started
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    paid = "order_id,paid_on,reference\n" + "".join(f"{r['order_id']},{PAID},P-{r['order_id']}\n" for r in rows)
    timings = []
    reports = []
    for _ in range(2):
        started = time.perf_counter()
        async with unit_of_work(sessions) as s:
            reports.append(await payouts.import_csv(s, paid, now, None))
        timings.append(time.perf_counter() - started)
    async with unit_of_work(sessions) as s:
        queued = int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)
    first, second = reports
    assert exported == count and len(first.applied) == count and not first.errors, (exported, first)
    assert second.unchanged == count and not second.applied and queued == count, (second, queued)
    return {
        "database": label,
        "claims": count,
        "export_s": round(export_s, 2),
        "import_s": round(timings[0], 2),
        "import_again_s": round(timings[1], 2),
        "per_row_ms": round(timings[0] / count * 1000, 3),
        "messages_queued": queued,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL (a database is made and dropped)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for server in [None] + ([args.postgres] if args.postgres else []):
            async with fresh_database(server, Path(folder)) as url:
                results.append(await _run("sqlite" if server is None else "postgresql", url, args.claims))
    for result in results:
        print(result)


if __name__ == "__main__":
    asyncio.run(main())
