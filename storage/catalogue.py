"""The product catalogue: loading it from operators' files, and finding a customer's serial in it.

Loading upserts and never deletes: products are keyed by `model`, serials by `serial`, stores by
`(country, name)`. Reloading the same file changes nothing; a changed field is updated. The whole
file is validated before anything is written, and every problem is reported at once.

TOML (see `storage/demo/catalogue.toml`)::

    [[products]]
    category = "monitor"                  # one of storage.models.Category
    name = "PRO MP241"
    model = "9S6-3PA2CT-038"              # unique key
    warranty_months = 36
    launch_date = 2021-01-15              # optional
    serial_pattern = '^BA9H[0-9]{9}$'     # optional regex, matched against the whole serial
    chk = "list"                          # "list" (default): CHK stored per serial; "keyed": HMAC
    serials = [{serial = "BA9H040230046", chk = "123"}]   # chk optional for keyed products

    [[stores]]
    country = "SG"                        # ISO 3166-1 alpha-2
    names = ["Challenger", "Courts"]

CSV: one UTF-8 file with a header row; `kind` says what a row is, and only the columns that kind
uses need values (unused columns may be left out of the header). A row whose `kind` starts with
`#` is a comment. Columns::

    kind,category,name,model,warranty_months,launch_date,serial_pattern,chk_mode,serial,chk,country,store
    product,monitor,PRO MP241,9S6-3PA2CT-038,36,2021-01-15,^BA9H[0-9]{9}$,list,,,,
    serial,,,9S6-3PA2CT-038,,,,,BA9H040230046,123,,
    store,,,,,,,,,,SG,Challenger

A serial row names its product by `model`: defined in the same file or already in the database.

Serial look-up: a serial matches when it is listed (`catalogue_serials`), or when it matches the
`serial_pattern` of a "keyed" product (whose CHK is an HMAC of the serial, so no list is needed).
A pattern of a "list" product only helps to correct look-alike characters: without its listed
CHK such a serial could never pass the CHK step.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import itertools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import CatalogueProduct, CatalogueSerial, Category, Store

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
_COUNTRY_HINTS = {"UK": "GB", "EL": "GR"}


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


def normalize_serial(raw: str, patterns: Sequence[str]) -> NormalizedSerial:
    """Upper-cases and strips the serial; fixes look-alikes only when exactly one reading fits a pattern.

    A serial that already matches a pattern is left alone, and so is one that several corrected
    readings would fit: guessing wrong is worse than asking again.
    """
    typed, value = _typed_and_upper(raw)
    compiled = _compile_patterns(tuple(patterns))
    if not value or not compiled or _matches_any(value, compiled):
        return NormalizedSerial(value)
    fits = [v for v in lookalike_variants(value) if _matches_any(v, compiled)]
    if len(fits) != 1:
        return NormalizedSerial(value)
    return NormalizedSerial(fits[0], _corrections(typed, fits[0]))


# ---------------------------------------------------------------- look-ups


@dataclass(frozen=True)
class SerialMatch:
    product: CatalogueProduct
    serial: str  # normalized (and corrected) serial
    corrections: list[Correction]
    listed: bool  # True: in catalogue_serials; False: only matched a keyed product's pattern


async def _in_chunks(session: AsyncSession, entity: type[T], column: InstrumentedAttribute[Any], values: Iterable[Any]) -> list[T]:
    """`WHERE column IN (...)` in slices, so a large file stays under the driver's parameter limit."""
    unique = list(dict.fromkeys(values))
    found: list[T] = []
    for start in range(0, len(unique), _IN_CHUNK):
        chunk = unique[start : start + _IN_CHUNK]
        found.extend(await session.scalars(select(entity).where(column.in_(chunk))))
    return found


async def _listed(session: AsyncSession, serials: Iterable[str]) -> dict[str, CatalogueSerial]:
    rows = await _in_chunks(session, CatalogueSerial, CatalogueSerial.serial, serials)
    return {row.serial: row for row in rows}


async def find_serial(session: AsyncSession, raw: str) -> SerialMatch | None:
    """The catalogue product a customer's serial belongs to, with any look-alike fixes made."""
    products = {p.id: p for p in await session.scalars(select(CatalogueProduct).order_by(CatalogueProduct.id))}
    patterns = [p.serial_pattern for p in products.values() if p.serial_pattern]
    typed, plain = _typed_and_upper(raw)
    if not plain:
        return None
    normalized = normalize_serial(raw, patterns)
    listed = await _listed(session, {plain, normalized.value})
    if plain in listed:
        return SerialMatch(products[listed[plain].product_id], plain, [], True)
    if normalized.value in listed:
        row = listed[normalized.value]
        return SerialMatch(products[row.product_id], row.serial, normalized.corrections, True)
    if not normalized.corrections:
        # A listed serial no pattern describes may still hide behind a look-alike.
        found = await _listed(session, lookalike_variants(plain, limit=_IN_CHUNK))
        if len(found) == 1:
            row = next(iter(found.values()))
            return SerialMatch(products[row.product_id], row.serial, _corrections(typed, row.serial), True)
    for product in products.values():
        if product.chk_mode == "keyed" and product.serial_pattern:
            compiled = _compile_patterns((product.serial_pattern,))
            if _matches_any(normalized.value, compiled):
                return SerialMatch(product, normalized.value, normalized.corrections, False)
    return None


async def product_by_id(session: AsyncSession, product_id: int) -> CatalogueProduct | None:
    return await session.get(CatalogueProduct, product_id)


async def product_by_model(session: AsyncSession, model: str) -> CatalogueProduct | None:
    return await session.scalar(select(CatalogueProduct).where(CatalogueProduct.model == model.strip()))


async def stores_for(session: AsyncSession, country: str) -> list[str]:
    """Store names of a region in the order the operator's file listed them."""
    rows = await session.scalars(select(Store.name).where(Store.country == country.strip().upper()).order_by(Store.id))
    return list(rows)


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
    expected = await session.scalar(select(CatalogueSerial.chk).where(CatalogueSerial.serial == match.serial))
    if expected is None and match.product.chk_mode == "keyed":
        if not secret:
            raise ChkSecretMissingError(f"model {match.product.model} uses keyed CHK codes but CHK_SECRET is not set")
        expected = keyed_chk(match.serial, secret)
    if expected is None:
        return False
    return hmac.compare_digest(typed.encode(), expected.encode())


# ---------------------------------------------------------------- loading: validation


class CatalogueFileError(Exception):
    """A catalogue file cannot be loaded; the message names the file, where, and what is wrong."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"{path}: {self.problems[0]}"
        else:
            message = f"{path}: {len(self.problems)} problems:\n" + "\n".join(f"  {p}" for p in self.problems)
        super().__init__(message)


@dataclass
class LoadReport:
    """What the file held; `created`/`updated` say how much of it changed the database."""

    products: int
    serials: int
    stores: int
    created: int = 0
    updated: int = 0


class _Invalid(ValueError):
    """One value's problem; the caller prefixes where the value is."""


@dataclass
class _Product:
    where: str
    category: str
    name: str
    model: str
    warranty_months: int
    launch_date: date | None
    serial_pattern: str | None
    chk_mode: str


@dataclass
class _Serial:
    where: str
    model: str
    serial: str
    chk: str | None


@dataclass
class _Store:
    where: str
    country: str
    name: str


@dataclass
class _Plan:
    products: list[_Product] = field(default_factory=list)
    serials: list[_Serial] = field(default_factory=list)
    stores: list[_Store] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


_CATEGORY_ALIASES = {"all_in_one": "aio", "all_in_one_pc": "aio", "gpu": "graphics_card", "case": "pc_case"}


def parse_category(value: Any) -> str:
    """Accepts `graphics_card`, `Graphics Card` or `graphics-card`, as operators write it."""
    key = re.sub(r"[\s\-]+", "_", str(value).strip().lower())
    key = _CATEGORY_ALIASES.get(key, key)
    if key not in {c.value for c in Category}:
        raise _Invalid(f"unknown category {value!r} (expected one of {', '.join(c.value for c in Category)})")
    return key


def _text(value: Any, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"must be non-empty text, got {value!r}")
    if len(value.strip()) > max_length:
        raise _Invalid(f"is longer than {max_length} characters")
    return value.strip()


def _positive_int(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Invalid(f"must be a positive whole number, got {value!r}")
    return value


def parse_date(value: Any) -> date:
    """A TOML date or an ISO `YYYY-MM-DD` string (CSV); a date-time is refused as ambiguous."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"must be a date like 2026-02-01, got {value!r}")


def parse_regex(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _Invalid(f"must be a regular expression, got {value!r}")
    try:
        re.compile(value)
    except re.error as exc:
        raise _Invalid(f"is not a valid regular expression ({exc}): {value!r}") from None
    return value


def _chk_mode(value: Any) -> str:
    if value not in CHK_MODES:
        raise _Invalid(f"must be 'list' or 'keyed', got {value!r}")
    return str(value)


def _chk(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise _Invalid(f"must be 3 digits in quotes (e.g. \"046\"), got the number {value}")
    if not isinstance(value, str) or not CHK_SHAPE.fullmatch(value.strip()):
        raise _Invalid(f"must be exactly 3 digits, got {value!r}")
    return value.strip()


def _serial(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be text, got {value!r}")
    serial = clean_serial(value).upper()
    if not SERIAL_SHAPE.fullmatch(serial):
        raise _Invalid(f"must be 4-40 letters and digits, got {value!r}")
    return serial


def parse_country(value: Any) -> str:
    """An ISO 3166-1 alpha-2 code; `UK` gets a hint because operators write it often."""
    code = value.strip().upper() if isinstance(value, str) else value
    if code not in ISO_COUNTRIES:
        hint = f" (did you mean {_COUNTRY_HINTS[code]!r}?)" if code in _COUNTRY_HINTS else ""
        raise _Invalid(f"is not an ISO 3166-1 alpha-2 country code: {value!r}{hint}")
    return str(code)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Fields:
    """Reads one record's fields, collecting problems instead of stopping at the first."""

    def __init__(self, record: dict[str, Any], where: str, problems: list[str]) -> None:
        self.record, self.where, self.problems = record, where, problems
        self.ok = True

    def get(self, key: str, parse: Any, *, required: bool = True, default: Any = None) -> Any:
        value = self.record.get(key)
        if _missing(value):
            if required:
                self.fail(f"{key}: is missing")
            return default
        try:
            return parse(value)
        except _Invalid as exc:
            self.fail(f"{key}: {exc}")
            return default

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(f"{self.where}: {problem}")


def _product(fields: _Fields, chk_key: str) -> _Product | None:
    product = _Product(
        where=fields.where,
        category=fields.get("category", parse_category),
        name=fields.get("name", lambda v: _text(v, 120)),
        model=fields.get("model", lambda v: _text(v, 64)),
        warranty_months=fields.get("warranty_months", _positive_int),
        launch_date=fields.get("launch_date", parse_date, required=False),
        serial_pattern=fields.get("serial_pattern", parse_regex, required=False),
        chk_mode=fields.get(chk_key, _chk_mode, required=False, default="list"),
    )
    if product.serial_pattern and len(product.serial_pattern) > 200:
        fields.fail("serial_pattern: is longer than 200 characters")
    if product.chk_mode == "keyed" and not product.serial_pattern and fields.ok:
        fields.fail("serial_pattern: is missing (a keyed product is recognised by its pattern)")
    return product if fields.ok else None


def _unknown_keys(fields: _Fields, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for key in fields.record:
        if key not in allowed:
            fields.fail(f"unknown field {key!r} (expected one of {', '.join(sorted(allowed))})")


_TOML_PRODUCT_KEYS = ("category", "name", "model", "warranty_months", "launch_date", "serial_pattern", "chk", "serials")


def _toml_plan(data: dict[str, Any]) -> _Plan:
    plan = _Plan()
    for key in data:
        if key not in ("products", "stores"):
            plan.problems.append(f"unknown table {key!r} (expected [[products]] and [[stores]])")
    for index, table in enumerate(_table_list(data, "products", plan.problems), start=1):
        _toml_product(plan, table, f"products[{index}]")
    for index, table in enumerate(_table_list(data, "stores", plan.problems), start=1):
        fields = _Fields(table, f"stores[{index}]", plan.problems)
        _unknown_keys(fields, ("country", "names"))
        country = fields.get("country", parse_country)
        names = fields.get("names", _name_list)
        for position, name in enumerate(names or [], start=1):
            try:
                text = _text(name, 120)
            except _Invalid as exc:
                fields.fail(f"names[{position}]: {exc}")
                continue
            if country:
                plan.stores.append(_Store(fields.where, country, text))
    if not plan.products and not plan.stores and not plan.problems:
        plan.problems.append("no [[products]] or [[stores]] tables")
    return plan


def _name_list(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Invalid(f"must be a non-empty list of store names, got {value!r}")
    return value


def _table_list(data: dict[str, Any], key: str, problems: list[str]) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        problems.append(f"{key}: must be written as [[{key}]] tables")
        return []
    return value


def _toml_product(plan: _Plan, table: dict[str, Any], where: str) -> None:
    if isinstance(table.get("model"), str) and table["model"].strip():
        where = f"{where} (model {table['model'].strip()})"
    fields = _Fields(table, where, plan.problems)
    _unknown_keys(fields, _TOML_PRODUCT_KEYS)
    product = _product(fields, "chk")
    serials = table.get("serials", [])
    if not isinstance(serials, list) or not all(isinstance(s, dict) for s in serials):
        fields.fail('serials: must be a list of {serial = "…", chk = "…"} tables')
        serials = []
    entries = []
    for position, entry in enumerate(serials, start=1):
        entry_fields = _Fields(entry, f"{where}: serials[{position}]", plan.problems)
        _unknown_keys(entry_fields, ("serial", "chk"))
        serial = entry_fields.get("serial", _serial)
        chk = entry_fields.get("chk", _chk, required=False)
        if entry_fields.ok:
            entries.append((entry_fields.where, serial, chk))
    if product is not None:
        plan.products.append(product)
        plan.serials.extend(_Serial(at, product.model, serial, chk) for at, serial, chk in entries)


CSV_COLUMNS = ("kind", "category", "name", "model", "warranty_months", "launch_date", "serial_pattern", "chk_mode", "serial", "chk", "country", "store")


def _csv_plan(text: str) -> _Plan:
    plan = _Plan()
    reader = csv.DictReader(text.splitlines(), restkey="__extra__")
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if not header:
        plan.problems.append("the file is empty (expected a header row)")
        return plan
    reader.fieldnames = header
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown or "kind" not in header:
        plan.problems.append(f"line 1: header must include 'kind' and only these columns: {', '.join(CSV_COLUMNS)} (unexpected: {', '.join(unknown) or 'none'})")
        return plan
    for row in reader:
        where = f"line {reader.line_num}"
        record = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
        kind = (record.get("kind") or "").lower()
        if kind.startswith("#") or not any(v for k, v in record.items() if k != "__extra__"):
            continue
        fields = _Fields(record, where, plan.problems)
        if record.get("__extra__"):
            fields.fail("more values than header columns (a comma inside a value needs quotes)")
            continue
        _csv_row(plan, fields, kind)
    return plan


def _csv_row(plan: _Plan, fields: _Fields, kind: str) -> None:
    if kind == "product":
        product = _product(fields, "chk_mode")
        if product:
            plan.products.append(product)
    elif kind == "serial":
        model = fields.get("model", lambda v: _text(v, 64))
        serial = fields.get("serial", _serial)
        chk = fields.get("chk", _chk, required=False)
        if fields.ok:
            plan.serials.append(_Serial(fields.where, model, serial, chk))
    elif kind == "store":
        country = fields.get("country", parse_country)
        name = fields.get("store", lambda v: _text(v, 120))
        if fields.ok:
            plan.stores.append(_Store(fields.where, country, name))
    else:
        fields.fail(f"kind: must be 'product', 'serial' or 'store', got {kind!r}")


def _check_duplicates(plan: _Plan) -> None:
    models: dict[str, str] = {}
    for product in plan.products:
        if product.model in models:
            plan.problems.append(f"{product.where}: model {product.model} is already defined at {models[product.model]}")
        models.setdefault(product.model, product.where)
    serials: dict[str, str] = {}
    for entry in plan.serials:
        if entry.serial in serials:
            plan.problems.append(f"{entry.where}: serial {entry.serial} is already listed at {serials[entry.serial]}")
        serials.setdefault(entry.serial, entry.where)


async def _resolve_serials(session: AsyncSession, plan: _Plan) -> dict[str, CatalogueProduct | _Product]:
    """Each serial's product, from the file or the database; checks model, pattern and CHK rule."""
    owners: dict[str, CatalogueProduct | _Product] = {p.model: p for p in plan.products}
    missing = {s.model for s in plan.serials if s.model not in owners}
    for product in await _in_chunks(session, CatalogueProduct, CatalogueProduct.model, missing):
        owners[product.model] = product
    for entry in plan.serials:
        owner = owners.get(entry.model)
        if owner is None:
            plan.problems.append(f"{entry.where}: serial {entry.serial} is for unknown model {entry.model!r}")
            continue
        if owner.serial_pattern and not _matches_any(entry.serial, _compile_patterns((owner.serial_pattern,))):
            plan.problems.append(f"{entry.where}: serial {entry.serial} does not match the serial_pattern {owner.serial_pattern!r} of model {entry.model}")
        if entry.chk is None and owner.chk_mode == "list":
            plan.problems.append(f"{entry.where}: chk: is missing (model {entry.model} uses listed CHK codes)")
    return owners


def _read(path: Path) -> _Plan:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CatalogueFileError(path, ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise CatalogueFileError(path, [f"not UTF-8 text (byte {exc.start})"]) from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            return _toml_plan(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueFileError(path, [f"TOML syntax error: {exc}"]) from None
    if suffix == ".csv":
        return _csv_plan(text)
    raise CatalogueFileError(path, [f"unknown file type {path.suffix!r} (expected .toml or .csv)"])


# ---------------------------------------------------------------- loading: writing


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Sets only what differs, so an unchanged reload leaves rows (and updates) untouched."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


class _Counter:
    def __init__(self) -> None:
        self.created = 0
        self.updated = 0

    def track(self, created: bool, changed: bool) -> None:
        self.created += created
        self.updated += changed and not created


async def _write_products(session: AsyncSession, plan: _Plan, counter: _Counter) -> dict[str, CatalogueProduct]:
    existing = {p.model: p for p in await _in_chunks(session, CatalogueProduct, CatalogueProduct.model, (p.model for p in plan.products))}
    for item in plan.products:
        values = {
            "category": item.category,
            "name": item.name,
            "warranty_months": item.warranty_months,
            "launch_date": item.launch_date,
            "serial_pattern": item.serial_pattern,
            "chk_mode": item.chk_mode,
        }
        row = existing.get(item.model)
        if row is None:
            row = existing[item.model] = CatalogueProduct(model=item.model, **values)
            session.add(row)
            counter.track(True, True)
        else:
            counter.track(False, _assign(row, values))
    await session.flush()
    return existing


async def _write_serials(session: AsyncSession, plan: _Plan, products: dict[str, CatalogueProduct], counter: _Counter) -> None:
    existing = await _listed(session, (s.serial for s in plan.serials))
    for item in plan.serials:
        values = {"product_id": products[item.model].id, "chk": item.chk}
        row = existing.get(item.serial)
        if row is None:
            session.add(CatalogueSerial(serial=item.serial, **values))
            counter.track(True, True)
        else:
            counter.track(False, _assign(row, values))


async def _write_stores(session: AsyncSession, plan: _Plan, counter: _Counter) -> int:
    wanted = list(dict.fromkeys((s.country, s.name) for s in plan.stores))
    rows = await _in_chunks(session, Store, Store.country, {country for country, _ in wanted})
    have = {(row.country, row.name) for row in rows}
    for country, name in wanted:
        if (country, name) not in have:
            session.add(Store(country=country, name=name))
            counter.track(True, True)
    return len(wanted)


async def load_catalogue_file(session: AsyncSession, path: Path) -> LoadReport:
    """Validates the whole file, then upserts it; raises CatalogueFileError before writing anything."""
    path = Path(path)
    plan = _read(path)
    _check_duplicates(plan)
    owners = await _resolve_serials(session, plan)
    if plan.problems:
        raise CatalogueFileError(path, plan.problems)
    counter = _Counter()
    products = await _write_products(session, plan, counter)
    for model, owner in owners.items():
        if isinstance(owner, CatalogueProduct):
            products.setdefault(model, owner)
    await _write_serials(session, plan, products, counter)
    stores = await _write_stores(session, plan, counter)
    await session.flush()
    return LoadReport(len(plan.products), len(plan.serials), stores, counter.created, counter.updated)
