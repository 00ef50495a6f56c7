"""The catalogue in memory: products, stores and an index of the serial patterns, per engine.

Every serial a customer types was checked against every catalogue product, loaded from the
database on each call (and again at the CHK step): the cost grew with the catalogue, inside the
write transaction. The catalogue changes only when an operator loads a file, so each process
keeps a snapshot and the patterns in an index by literal prefix, so a serial is tried only
against the patterns that can match its first characters.

Invalidation:
* in this process, a catalogue load drops every snapshot when its transaction commits
  (`invalidate_on_commit`, called by storage/catalogue_loader.py);
* across processes (the operator's CLI loads a file while the bot runs), the loader bumps the
  one-row `catalogue_version`; a snapshot older than `CHECK_EVERY` seconds reads that number
  (one tiny indexed read, at most once per interval, not per update) and reloads only when it
  moved. So another process sees a new catalogue within CHECK_EVERY seconds, and an update pays
  nothing on most steps. A listed serial whose product the snapshot lacks forces a reload at once.
"""

from __future__ import annotations

import re
import string
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.models import CatalogueProduct, CatalogueVersion, Store

CHECK_EVERY = 5.0  # seconds between two reads of catalogue_version by one process
_PLAIN = frozenset(string.ascii_letters + string.digits)
_MAX_PREFIX = 8  # a longer literal prefix narrows no further in practice


@dataclass(frozen=True)
class CatalogueEntry:
    """What the journeys read of a catalogue product; immutable, so one copy serves every task."""

    id: int
    category: str
    name: str
    model: str
    warranty_months: int
    launch_date: date | None
    serial_pattern: str | None
    chk_mode: str


@dataclass(frozen=True)
class _Pattern:
    order: int  # position among the patterns (product id order): the first fitting one wins
    regex: re.Pattern[str]
    product_id: int
    keyed: bool


def literal_prefix(pattern: str) -> str:
    """The characters every match of `pattern` must start with ("" when unsure): letters and
    digits from the start up to the first metacharacter, without one an optional quantifier
    follows. A pattern with an alternation anywhere has none, to stay on the safe side."""
    if "|" in pattern:
        return ""
    i = 1 if pattern.startswith("^") else 2 if pattern.startswith("\\A") else 0
    prefix: list[str] = []
    while i < len(pattern) and pattern[i] in _PLAIN and len(prefix) < _MAX_PREFIX:
        following = pattern[i + 1 : i + 2]
        if following in ("?", "*", "{"):
            break
        prefix.append(pattern[i])
        if following == "+":
            break
        i += 1
    return "".join(prefix)


class PatternIndex:
    """The serial patterns by literal prefix: a value is tried against the patterns whose prefix
    it starts with (and those without one), in product order, each compiled once."""

    def __init__(self, entries: Iterable[tuple[str, int, bool]]) -> None:
        compiled: dict[str, re.Pattern[str] | None] = {}
        self._buckets: dict[int, dict[str, list[_Pattern]]] = {}
        for order, (pattern, product_id, keyed) in enumerate(entries):
            if pattern not in compiled:
                try:
                    compiled[pattern] = re.compile(pattern)
                except re.error:  # the loader checked it; a bad one fits nothing
                    compiled[pattern] = None
            regex = compiled[pattern]
            if regex is None:
                continue
            prefix = literal_prefix(pattern)
            bucket = self._buckets.setdefault(len(prefix), {}).setdefault(prefix, [])
            bucket.append(_Pattern(order, regex, product_id, keyed))
        self._lengths = sorted(self._buckets)
        self.size = sum(len(b) for by_prefix in self._buckets.values() for b in by_prefix.values())

    def _candidates(self, value: str) -> list[_Pattern]:
        found: list[_Pattern] = []
        for length in self._lengths:
            if length > len(value):
                break
            found.extend(self._buckets[length].get(value[:length], ()))
        if len(self._lengths) > 1:
            found.sort(key=lambda p: p.order)
        return found

    def fits(self, value: str) -> bool:
        """Whether the whole value matches any pattern."""
        return any(p.regex.fullmatch(value) for p in self._candidates(value))

    def keyed_product(self, value: str) -> int | None:
        """The first keyed product (by id) whose pattern the whole value matches."""
        for p in self._candidates(value):
            if p.keyed and p.regex.fullmatch(value):
                return p.product_id
        return None

    def __bool__(self) -> bool:
        return self.size > 0


@dataclass(frozen=True)
class CatalogueSnapshot:
    version: int
    products: dict[int, CatalogueEntry]
    patterns: PatternIndex
    stores: dict[str, tuple[str, ...]]  # country -> store names in the file's order
    checked_at: float = field(default=0.0)


_snapshots: weakref.WeakKeyDictionary[Engine, CatalogueSnapshot] = weakref.WeakKeyDictionary()


def _engine(session: AsyncSession) -> Engine:
    bind = session.sync_session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


async def read_version(session: AsyncSession) -> int:
    version = await session.scalar(select(CatalogueVersion.version).where(CatalogueVersion.id == 1))
    return int(version or 0)


async def _load(session: AsyncSession, version: int) -> CatalogueSnapshot:
    columns = (
        CatalogueProduct.id,
        CatalogueProduct.category,
        CatalogueProduct.name,
        CatalogueProduct.model,
        CatalogueProduct.warranty_months,
        CatalogueProduct.launch_date,
        CatalogueProduct.serial_pattern,
        CatalogueProduct.chk_mode,
    )
    rows = await session.execute(select(*columns).order_by(CatalogueProduct.id))
    products = {row.id: CatalogueEntry(*row) for row in rows}
    patterns = PatternIndex(
        (p.serial_pattern, p.id, p.chk_mode == "keyed") for p in products.values() if p.serial_pattern
    )
    stores: dict[str, list[str]] = {}
    for country, name in await session.execute(select(Store.country, Store.name).order_by(Store.id)):
        stores.setdefault(country, []).append(name)
    frozen = {country: tuple(names) for country, names in stores.items()}
    return CatalogueSnapshot(version, products, patterns, frozen, time.monotonic())


async def snapshot(session: AsyncSession, *, refresh: bool = False) -> CatalogueSnapshot:
    """This process's catalogue for the session's database, reloaded when it changed."""
    engine = _engine(session)
    current = _snapshots.get(engine)
    now = time.monotonic()
    if current is not None and not refresh and now - current.checked_at < CHECK_EVERY:
        return current
    version = await read_version(session)
    if current is not None and current.version == version and not refresh:
        current = CatalogueSnapshot(current.version, current.products, current.patterns, current.stores, now)
    else:
        current = await _load(session, version)
    _snapshots[engine] = current
    return current


async def entry(session: AsyncSession, product_id: int) -> CatalogueEntry | None:
    """A product from the snapshot; one it lacks (added since) reloads it once."""
    found = (await snapshot(session)).products.get(product_id)
    if found is None:
        found = (await snapshot(session, refresh=True)).products.get(product_id)
    return found


def invalidate() -> None:
    """Drops every snapshot of this process (the next look-up reloads)."""
    _snapshots.clear()


def _invalidate_after_commit(_session: Session) -> None:
    invalidate()


def invalidate_on_commit(session: AsyncSession) -> None:
    """The catalogue changes in this transaction: snapshots go when it commits (not before, or
    a concurrent reader could cache the old rows again under the old version)."""
    sync = session.sync_session
    for moment in ("after_commit", "after_rollback"):  # a rolled-back load may have been cached too
        if not event.contains(sync, moment, _invalidate_after_commit):
            event.listen(sync, moment, _invalidate_after_commit)


async def bump_version(session: AsyncSession, now: datetime) -> None:
    """Tells every process the catalogue changed, in the loader's transaction."""
    values = {"version": CatalogueVersion.version + 1, "changed_at": now}
    result = await session.execute(update(CatalogueVersion).where(CatalogueVersion.id == 1).values(values))
    if not result.rowcount:  # type: ignore[attr-defined]
        session.add(CatalogueVersion(id=1, version=1, changed_at=now))
    invalidate_on_commit(session)
