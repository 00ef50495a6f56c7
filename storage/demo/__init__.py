"""Demo data: a catalogue with every category and one promotion, for `python -m bot demo` and tests.

Tests load the files as written (fixed dates, a fake clock, no codes). The running demo loads
:func:`load_demo_showcase` instead: the same files plus one promotion of each other prize kind,
every date moved so the promotions run around the day the demo starts, and activation codes for
each digital promotion, so every journey can finish whatever day it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import code_stock
from storage.catalogue import load_catalogue_file
from storage.codes import codes_left
from storage.file_models import read_toml
from storage.models import PrizeKind, Promotion
from storage.promotion_loader import load_promotions_file

DEMO_DIR: Path = Path(__file__).resolve().parent
DEMO_CATALOGUE = DEMO_DIR / "catalogue.toml"
DEMO_PROMOTIONS = DEMO_DIR / "promotion.toml"
DEMO_SHOWCASE = DEMO_DIR / "showcase.toml"
# The demo's keyed product (CLUTCH GM41) needs a CHK secret; use this one when CHK_SECRET is unset.
DEMO_CHK_SECRET = "demo-chk-secret"
# A demo promotion started this many days before the demo did: recent purchases count.
DAYS_RUNNING = 60
DEMO_CODES = 300  # per digital promotion, topped up on each start when fewer than half are left
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


async def load_demo_data(session: AsyncSession) -> None:
    """Catalogue first: the promotion's eligible models must exist. Idempotent, like both loaders."""
    await load_catalogue_file(session, DEMO_CATALOGUE)
    await load_promotions_file(session, DEMO_PROMOTIONS)


def shifted(data: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The promotions file with every date of each promotion moved by one amount, so its period
    starts DAYS_RUNNING days before `today`; the gaps between its dates (purchase window, draw,
    deadline) stay as the file has them."""
    tables = []
    for table in data.get("promotions", []):
        start = table["period"]["start"]
        delta = today - dt.timedelta(days=DAYS_RUNNING) - start
        tables.append(_move_dates(table, delta))
    return {**data, "promotions": tables}


def _move_dates(value: Any, delta: dt.timedelta) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value + delta
    if isinstance(value, dict):
        return {key: _move_dates(item, delta) for key, item in value.items()}
    if isinstance(value, list):
        return [_move_dates(item, delta) for item in value]
    return value


def demo_codes(slug: str, count: int = DEMO_CODES) -> list[str]:
    """Codes in the guide's AAAAA-BBBBB-CCCCC shape, the same on every start (so a top-up never
    doubles a code) and different per promotion."""
    found = []
    for n in range(count):
        digest = hashlib.sha256(f"{slug}:{n}".encode()).digest()
        letters = "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:15])
        found.append(f"{letters[:5]}-{letters[5:10]}-{letters[10:]}")
    return found


async def load_demo_showcase(session: AsyncSession, today: dt.date, now: dt.datetime) -> list[str]:
    """Everything the running demo needs; returns the promotions' slugs. Idempotent."""
    await load_catalogue_file(session, DEMO_CATALOGUE)
    slugs: list[str] = []
    for path in (DEMO_PROMOTIONS, DEMO_SHOWCASE):
        slugs += await load_promotions_file(session, path, shifted(read_toml(path), today))
    digital = await session.scalars(select(Promotion).where(Promotion.prize_kind == PrizeKind.DIGITAL_CODE))
    for promotion in digital.all():
        if await codes_left(session, promotion.id) < DEMO_CODES // 2:
            text = "\n".join(demo_codes(promotion.slug))
            await code_stock.import_for_slug(session, promotion.slug, text, None, now, "demo")
    return slugs
