"""The product catalogue, looked up: a customer's serial (with look-alikes fixed), its product, the CHK.

A serial matches when it is listed (`catalogue_serials`), or when it matches the `serial_pattern`
of a "keyed" product (whose CHK is an HMAC of the serial, so no list is needed). A pattern of a
"list" product only helps to correct look-alike characters: without its listed CHK such a serial
could never pass the CHK step.

The products, stores and patterns come from this process's in-memory snapshot
(storage/catalogue_cache.py), so a look-up costs the same with 10 or 10,000 products: one
indexed read of the listed serials (which also brings their CHK, so the CHK step needs no
other), and the patterns tried only where their literal prefix fits.

Import it as `storage.catalogue`, which also holds the loading of catalogue files.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage import catalogue_cache
from storage.catalogue_cache import CatalogueEntry, PatternIndex
from storage.models import CatalogueProduct, CatalogueSerial

T = TypeVar("T")

CHK_MODES = ("list", "keyed")
SERIAL_SHAPE = re.compile(r"[A-Z0-9]{4,40}")
CHK_SHAPE = re.compile(r"[0-9]{3}")
# Look-alikes the vendor's guide warns about ("0" and "O", "1" and "l"), after upper-casing.
LOOKALIKES: dict[str, tuple[str, ...]] = {"O": ("0",), "0": ("O",), "I": ("1",), "L": ("1",), "1": ("I", "L")}
MAX_VARIANTS = 4096  # beyond this many look-alike combinations we do not guess
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_IN_CHUNK = 500

ISO_COUNTRIES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)


# ---------------------------------------------------------------- serial normalization


class Correction(NamedTuple):
    """One look-alike fixed: data for the caller to phrase in the customer's language."""

    position: int  # 1-based, in the normalized serial
    original: str  # as the customer typed it, e.g. "l"
    corrected: str

    def __str__(self) -> str:
        return f"{self.original}→{self.corrected} at position {self.position}"


@dataclass(frozen=True)
class NormalizedSerial:
    value: str
    corrections: list[Correction] = field(default_factory=list)


def clean_serial(raw: str) -> str:
    """Full-width digits become ASCII (NFKC), spaces and dashes go; the case is kept for reporting."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))


def _typed_and_upper(raw: str) -> tuple[str, str]:
    """The cleaned serial as typed and upper-cased, position for position (so "ß" is not kept)."""
    typed = clean_serial(raw)
    upper = typed.upper()
    return (typed if len(typed) == len(upper) else upper), upper


@lru_cache(maxsize=64)
def _compile_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Patterns come from the database, where the loader already checked them; a bad one is skipped."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error:
            continue
    return tuple(compiled)


def _matches_any(value: str, patterns: Iterable[re.Pattern[str]]) -> bool:
    return any(p.fullmatch(value) for p in patterns)


def fits_pattern(serial: str, pattern: str) -> bool:
    """Whether the whole serial matches the product's `serial_pattern` (a bad pattern fits nothing)."""
    return _matches_any(serial, _compile_patterns((pattern,)))


def lookalike_variants(value: str, limit: int = MAX_VARIANTS) -> Iterator[str]:
    """Every other reading of `value` with O/0 and I/L/1 swapped; nothing when there are too many."""
    options = [(ch, *LOOKALIKES.get(ch, ())) for ch in value]
    total = 1
    for choice in options:
        total *= len(choice)
    if total > limit:
        return
    for combo in itertools.product(*options):
        candidate = "".join(combo)
        if candidate != value:
            yield candidate


def _corrections(typed: str, corrected: str) -> list[Correction]:
    return [
        Correction(i + 1, was, now)
        for i, (was, now) in enumerate(zip(typed, corrected, strict=True))
        if was.upper() != now
    ]


def normalize_serial(raw: str, patterns: Sequence[str] | PatternIndex) -> NormalizedSerial:
    """Upper-cases and strips the serial; fixes look-alikes only when exactly one reading fits a pattern.

    A serial that already matches a pattern is left alone, and so is one that several corrected
    readings would fit: guessing wrong is worse than asking again.
    """
    typed, value = _typed_and_upper(raw)
    index = patterns if isinstance(patterns, PatternIndex) else PatternIndex((p, 0, False) for p in patterns)
    if not value or not index or index.fits(value):
        return NormalizedSerial(value)
    fits = [v for v in lookalike_variants(value) if index.fits(v)]
    if len(fits) != 1:
        return NormalizedSerial(value)
    return NormalizedSerial(fits[0], _corrections(typed, fits[0]))


# ---------------------------------------------------------------- look-ups


@dataclass(frozen=True)
class SerialMatch:
    product: CatalogueEntry
    serial: str  # normalized (and corrected) serial
    corrections: list[Correction]
    listed: bool  # True: in catalogue_serials; False: only matched a keyed product's pattern
    chk: str | None = None  # the listed serial's CHK (never shown; compared at the CHK step)


async def rows_in(
    session: AsyncSession, entity: type[T], column: InstrumentedAttribute[Any], values: Iterable[Any]
) -> list[T]:
    """`WHERE column IN (...)` in slices, so a large file stays under the driver's parameter limit."""
    unique = list(dict.fromkeys(values))
    found: list[T] = []
    for start in range(0, len(unique), _IN_CHUNK):
        chunk = unique[start : start + _IN_CHUNK]
        found.extend(await session.scalars(select(entity).where(column.in_(chunk))))
    return found


async def listed_serials(session: AsyncSession, serials: Iterable[str]) -> dict[str, CatalogueSerial]:
    rows = await rows_in(session, CatalogueSerial, CatalogueSerial.serial, serials)
    return {row.serial: row for row in rows}


class _Listed(NamedTuple):
    serial: str
    product_id: int
    chk: str | None


async def _listed(session: AsyncSession, serials: Iterable[str]) -> dict[str, _Listed]:
    """Listed serials with their product and CHK, as plain rows (no ORM objects to track)."""
    unique = list(dict.fromkeys(serials))
    found: dict[str, _Listed] = {}
    columns = (CatalogueSerial.serial, CatalogueSerial.product_id, CatalogueSerial.chk)
    for start in range(0, len(unique), _IN_CHUNK):
        query = select(*columns).where(CatalogueSerial.serial.in_(unique[start : start + _IN_CHUNK]))
        found.update((row.serial, _Listed(*row)) for row in await session.execute(query))
    return found


async def _listed_match(session: AsyncSession, row: _Listed, corrections: list[Correction]) -> SerialMatch | None:
    product = await catalogue_cache.entry(session, row.product_id)
    return SerialMatch(product, row.serial, corrections, True, row.chk) if product is not None else None


async def find_serial(session: AsyncSession, raw: str) -> SerialMatch | None:
    """The catalogue product a customer's serial belongs to, with any look-alike fixes made."""
    typed, plain = _typed_and_upper(raw)
    if not plain:
        return None
    catalogue = await catalogue_cache.snapshot(session)
    normalized = normalize_serial(raw, catalogue.patterns)
    listed = await _listed(session, {plain, normalized.value})
    if plain in listed:
        return await _listed_match(session, listed[plain], [])
    if normalized.value in listed:
        return await _listed_match(session, listed[normalized.value], normalized.corrections)
    if not normalized.corrections:
        # A listed serial no pattern describes may still hide behind a look-alike.
        found = await _listed(session, lookalike_variants(plain, limit=_IN_CHUNK))
        if len(found) == 1:
            row = next(iter(found.values()))
            return await _listed_match(session, row, _corrections(typed, row.serial))
    keyed = catalogue.patterns.keyed_product(normalized.value)
    product = catalogue.products.get(keyed) if keyed is not None else None
    return SerialMatch(product, normalized.value, normalized.corrections, False) if product is not None else None


async def product_by_id(session: AsyncSession, product_id: int) -> CatalogueEntry | None:
    return await catalogue_cache.entry(session, product_id)


async def product_by_model(session: AsyncSession, model: str) -> CatalogueProduct | None:
    query = select(CatalogueProduct).where(CatalogueProduct.model == model.strip())
    return (await session.scalars(query)).first()


async def stores_for(session: AsyncSession, country: str) -> list[str]:
    """Store names of a region in the order the operator's file listed them."""
    stores = (await catalogue_cache.snapshot(session)).stores
    return list(stores.get(country.strip().upper(), ()))


# ---------------------------------------------------------------- CHK


class ChkSecretMissingError(RuntimeError):
    """A keyed product's CHK was checked but no CHK_SECRET is configured: an operator's mistake."""


def keyed_chk(serial: str, secret: str) -> str:
    """The 3-digit CHK of a keyed product: HMAC-SHA256 of the normalized serial, mod 1000."""
    digest = hmac.new(secret.encode(), clean_serial(serial).upper().encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1000:03d}"


async def check_chk(session: AsyncSession, match: SerialMatch, chk: str, secret: str | None) -> bool:
    """Compares in constant time; a CHK stored for the serial wins over the keyed one."""
    typed = unicodedata.normalize("NFKC", chk).strip()
    if not CHK_SHAPE.fullmatch(typed):
        return False
    expected = match.chk  # read with the serial: a CHK listed for the serial wins over the keyed one
    if expected is None and match.product.chk_mode == "keyed":
        if not secret:
            model = match.product.model
            raise ChkSecretMissingError(f"model {model} uses keyed CHK codes but CHK_SECRET is not set")
        expected = keyed_chk(match.serial, secret)
    if expected is None:
        return False
    return hmac.compare_digest(typed.encode(), expected.encode())
