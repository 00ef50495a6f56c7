"""Seeds bench/cpu.py's database with the measured tree's own code (run with it on PYTHONPATH):

    python bench/seed_db.py seed URL MEDIA_DIR MIXED REGISTERING   # prints the people as JSON
    python bench/seed_db.py idle URL COUNT                         # half-finished conversations

A child process, so that the schema, models and migrations are those of the bot being measured,
not of whatever the working tree running the bench holds at the moment.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, os.environ.get("BENCH_CODE_ROOT") or str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from storage import migrate  # noqa: E402
from storage.db import create_engine, make_session_factory, unit_of_work  # noqa: E402
from storage.models import CatalogueProduct, CatalogueSerial, ConversationState  # noqa: E402
from tests import crash_run  # noqa: E402
from tests.factories import new_member  # noqa: E402

MODEL = "9S6-3PA2CT-038"
CHK = "123"


async def seed(url: str, media_dir: Path, mixed: int, registering: int) -> dict[str, list[tuple[int, str]]]:
    """Demo data (crash_run.seed: customers owning an eligible monitor), plus unregistered
    serials for the mixed flow to register and members for the registration steps."""
    await migrate.upgrade(url)
    owners = await crash_run.seed(url, media_dir, mixed)
    engine = create_engine(url)
    try:
        async with unit_of_work(make_session_factory(engine)) as session:
            model = await session.scalar(select(CatalogueProduct).where(CatalogueProduct.model == MODEL))
            assert model is not None
            for index in range(mixed):
                session.add(CatalogueSerial(product_id=model.id, serial=f"BA9H8{index:08d}", chk=CHK))
            for index in range(registering):
                session.add(CatalogueSerial(product_id=model.id, serial=f"BA9H7{index:08d}", chk=CHK))
                session.add(new_member(40_000 + index, email=f"r{index}@example.com"))
    finally:
        await engine.dispose()
    return {"mixed": owners, "registering": [(40_000 + i, f"BA9H7{i:08d}") for i in range(registering)]}


async def idle_conversations(url: str, count: int) -> None:
    """`count` half-finished registrations, cloned from one the bench left (recent: no reminder due)."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with unit_of_work(make_session_factory(engine)) as session:
            sample = await session.scalar(select(ConversationState).where(ConversationState.flow == "register"))
            flow, step, data = (sample.flow, sample.step, dict(sample.data)) if sample else ("register", "serial", {})
            rows = [
                dict(user_id=uid, chat_id=uid, flow=flow, step=step, data=data, updated_at=now, reminded_at=None)
                for uid in range(5_000_000, 5_000_000 + count)
            ]
            for chunk in range(0, len(rows), 1000):
                await session.execute(insert(ConversationState), rows[chunk : chunk + 1000])
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    if argv[:1] == ["seed"] and len(argv) == 5:
        people = asyncio.run(seed(argv[1], Path(argv[2]), int(argv[3]), int(argv[4])))
        print(json.dumps(people))
    elif argv[:1] == ["idle"] and len(argv) == 3:
        asyncio.run(idle_conversations(argv[1], int(argv[2])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
