"""The in-memory catalogue: the pattern index finds what a scan of every pattern would, and a
snapshot follows a catalogue loaded in this process at once and in another within CHECK_EVERY."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage import catalogue_cache
from storage.catalogue import find_serial, load_catalogue_file, stores_for
from storage.catalogue_cache import PatternIndex, literal_prefix
from storage.db import SessionFactory, create_engine, make_session_factory, unit_of_work

PATTERNS = [
    r"^BA9H[0-9]{9}$",
    r"BA9X\d+",
    r"^[A-Z]{2}[0-9]{6}$",
    r"AB?C[0-9]{3}",
    r"A+B[0-9]{2}",
    r"(?i)k[0-9]{4}",
    r"^Q1|Q2[0-9]{3}$",
    r"ZZ{2}[0-9]",
    r"\AMX[0-9]{2}",
]


def test_literal_prefix_only_keeps_what_every_match_starts_with() -> None:
    assert [literal_prefix(p) for p in PATTERNS] == ["BA9H", "BA9X", "", "A", "A", "", "", "Z", "MX"]


@pytest.mark.parametrize(
    "value", ["BA9H123456789", "BA9X1", "BA123456", "AC123", "ABC123", "AAAB12", "K1234", "Q1", "Q2123", "ZZZ1", "MX12"]
)
def test_the_index_agrees_with_trying_every_pattern(value: str) -> None:
    entries = [(p, i, i % 2 == 1) for i, p in enumerate(PATTERNS)]
    index = PatternIndex(entries)
    fitting = [i for p, i, _ in entries if re.fullmatch(p, value)]
    assert index.fits(value) == bool(fitting)
    keyed = [i for i in fitting if entries[i][2]]
    assert index.keyed_product(value) == (keyed[0] if keyed else None)


CATALOGUE = """
[[products]]
category = "monitor"
name = "First"
model = "M1"
warranty_months = 24
serial_pattern = '^KA[0-9]{6}$'
chk = "keyed"

[[stores]]
country = "SG"
names = ["Courts"]
"""

SECOND = """
[[products]]
category = "monitor"
name = "Second"
model = "M2"
warranty_months = 24
serial_pattern = '^KB[0-9]{6}$'
chk = "keyed"

[[stores]]
country = "SG"
names = ["Harvey Norman"]
"""


async def test_a_load_is_seen_at_once_here_and_within_check_every_elsewhere(
    db_url: str, sessions: SessionFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    first.write_text(CATALOGUE)
    second.write_text(SECOND)
    async with unit_of_work(sessions) as s:
        await load_catalogue_file(s, first)
    async with unit_of_work(sessions) as s:
        found = await find_serial(s, "KA123456")
        assert found is not None and found.product.model == "M1"
        assert await find_serial(s, "KB123456") is None
        assert await stores_for(s, "sg") == ["Courts"]

    other = create_engine(db_url)  # another process's engine: its own snapshot
    other_sessions = make_session_factory(other)
    try:
        async with unit_of_work(other_sessions) as s:
            assert await find_serial(s, "KB123456") is None
        async with unit_of_work(sessions) as s:  # a load here invalidates every snapshot of this process
            await load_catalogue_file(s, second)
            version = await catalogue_cache.read_version(s)
        async with unit_of_work(sessions) as s:
            found = await find_serial(s, "KB123456")
            assert found is not None and found.product.model == "M2"
            assert await stores_for(s, "SG") == ["Courts", "Harvey Norman"]
            assert (await catalogue_cache.snapshot(s)).version == version

        # Across processes the version is what tells: with CHECK_EVERY passed, the other engine's
        # snapshot (taken before the load) reads it and reloads.
        stale = catalogue_cache.CatalogueSnapshot(0, {}, PatternIndex([]), {}, checked_at=0.0)
        catalogue_cache._snapshots[other.sync_engine] = stale
        monkeypatch.setattr(catalogue_cache, "CHECK_EVERY", 0.0)
        async with unit_of_work(other_sessions) as s:
            found = await find_serial(s, "KB123456")
            assert found is not None and found.product.name == "Second"
    finally:
        await other.dispose()
