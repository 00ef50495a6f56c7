"""Demo data: a catalogue with every category and one promotion, for `python -m bot demo` and tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalogue import load_catalogue_file
from storage.promotion_loader import load_promotions_file

DEMO_DIR: Path = Path(__file__).resolve().parent
DEMO_CATALOGUE = DEMO_DIR / "catalogue.toml"
DEMO_PROMOTIONS = DEMO_DIR / "promotion.toml"
# The demo's keyed product (CLUTCH GM41) needs a CHK secret; use this one when CHK_SECRET is unset.
DEMO_CHK_SECRET = "demo-chk-secret"


async def load_demo_data(session: AsyncSession) -> None:
    """Catalogue first: the promotion's eligible models must exist. Idempotent, like both loaders."""
    await load_catalogue_file(session, DEMO_CATALOGUE)
    await load_promotions_file(session, DEMO_PROMOTIONS)
