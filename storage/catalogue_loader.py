"""The product catalogue, loaded from an operator's TOML or CSV file.

Loading upserts and never deletes: products are keyed by `model`, serials by `serial`, stores by
`(country, name)`. Reloading the same file changes nothing; a changed field is updated. The whole
file is validated before anything is written, and every problem is reported at once, each naming
the file, the record (`products[2] (model 9S6-3PA2CT-038)`, `line 12`) and the field.

TOML (see `storage/demo/catalogue.toml`), validated as `ProductTable` and `StoreTable`::

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

CSV: one UTF-8 file with a header row; `kind` says what a row is (`Product`, `SerialRow` or
`StoreRow`), and only the columns that kind uses need values (unused columns may be left out of
the header). A row whose `kind` starts with `#` is a comment. Columns::

    kind,category,name,model,warranty_months,launch_date,serial_pattern,chk_mode,serial,chk,country,store
    product,monitor,PRO MP241,9S6-3PA2CT-038,36,2021-01-15,^BA9H[0-9]{9}$,list,,,,
    serial,,,9S6-3PA2CT-038,,,,,BA9H040230046,123,,
    store,,,,,,,,,,SG,Challenger

A serial row names its product by `model`: defined in the same file or already in the database.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, PlainValidator, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalogue_lookup import (
    CHK_MODES,
    CHK_SHAPE,
    SERIAL_SHAPE,
    clean_serial,
    fits_pattern,
    listed_serials,
    rows_in,
)
from storage.file_errors import FileLoadError, FileProblem, several
from storage.file_models import (
    Country,
    FileDate,
    FileModel,
    PositiveInt,
    parse_regex,
    read_text,
    read_toml,
    text,
    validate,
)
from storage.models import CatalogueProduct, CatalogueSerial, Category, Store

CatalogueFileError = FileLoadError  # the name the CLI and older code use; one error for every file
MAX_PATTERN = 200  # characters of a serial_pattern (the column's width)

_CATEGORY_ALIASES = {"all_in_one": "aio", "all_in_one_pc": "aio", "gpu": "graphics_card", "case": "pc_case"}
_EXTRA = "__extra__"  # where csv.DictReader puts values beyond the header's columns


# ---------------------------------------------------------------- the values of a catalogue file


def parse_category(value: Any) -> str:
    """Accepts `graphics_card`, `Graphics Card` or `graphics-card`, as operators write it."""
    key = re.sub(r"[\s\-]+", "_", str(value).strip().lower())
    key = _CATEGORY_ALIASES.get(key, key)
    if key not in {c.value for c in Category}:
        raise ValueError(f"unknown category {value!r} (expected one of {', '.join(c.value for c in Category)})")
    return key


def parse_serial_pattern(value: Any) -> str:
    pattern = parse_regex(value)
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"is longer than {MAX_PATTERN} characters")
    return pattern


def parse_chk_mode(value: Any) -> str:
    if value not in CHK_MODES:
        raise ValueError(f"must be 'list' or 'keyed', got {value!r}")
    return str(value)


def parse_serial(value: Any) -> str:
    """Stored as the look-up compares it: spaces and dashes gone, upper case."""
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {value!r}")
    serial = clean_serial(value).upper()
    if not SERIAL_SHAPE.fullmatch(serial):
        raise ValueError(f"must be 4-40 letters and digits, got {value!r}")
    return serial


def parse_chk(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f'must be 3 digits in quotes (e.g. "046"), got the number {value}')
    if not isinstance(value, str) or not CHK_SHAPE.fullmatch(value.strip()):
        raise ValueError(f"must be exactly 3 digits, got {value!r}")
    return value.strip()


CategoryName = Annotated[str, PlainValidator(parse_category)]
ProductName = Annotated[str, text(120)]
ModelNumber = Annotated[str, text(64)]
StoreName = Annotated[str, text(120)]
SerialPattern = Annotated[str, PlainValidator(parse_serial_pattern)]
ChkMode = Annotated[str, PlainValidator(parse_chk_mode)]
Serial = Annotated[str, PlainValidator(parse_serial)]
Chk = Annotated[str, PlainValidator(parse_chk)]


# ---------------------------------------------------------------- the records of a catalogue file


class Product(FileModel):
    """A product: a `product` row of a CSV file (a TOML `[[products]]` table adds its serials)."""

    category: CategoryName
    name: ProductName
    model: ModelNumber
    warranty_months: PositiveInt
    launch_date: FileDate | None = None
    serial_pattern: SerialPattern | None = None
    chk_mode: ChkMode = "list"

    @model_validator(mode="after")
    def _keyed_has_a_pattern(self) -> Self:
        if self.chk_mode == "keyed" and not self.serial_pattern:
            raise several([("serial_pattern", "is missing (a keyed product is recognised by its pattern)")])
        return self

    def columns(self) -> dict[str, Any]:
        """The `catalogue_products` columns besides the key, `model`."""
        return self.model_dump(
            include={"category", "name", "warranty_months", "launch_date", "serial_pattern", "chk_mode"}
        )


class SerialEntry(FileModel):
    """One of a TOML product's `serials`; `chk` may be left out for a keyed product."""

    serial: Serial
    chk: Chk | None = None


class ProductTable(Product):
    """A `[[products]]` table of a TOML file: there the CHK mode is written `chk`."""

    chk_mode: ChkMode = Field("list", alias="chk")
    serials: list[SerialEntry] = Field(default_factory=list)

    @field_validator("serials", mode="before")
    @classmethod
    def _a_list(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError(f'must be a list of {{serial = "…", chk = "…"}} tables, got {value!r}')
        return value


class SerialRow(SerialEntry):
    """A `serial` row of a CSV file, naming its product by model."""

    model: ModelNumber


class StoreTable(FileModel):
    """A `[[stores]]` table of a TOML file: a region's store names in the order to show them."""

    country: Country
    names: list[StoreName]

    @field_validator("names", mode="before")
    @classmethod
    def _a_list(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise ValueError(f"must be a non-empty list of store names, got {value!r}")
        return value


class StoreRow(FileModel):
    """A `store` row of a CSV file."""

    country: Country
    store: StoreName


_ROWS: dict[str, type[Product | SerialRow | StoreRow]] = {"product": Product, "serial": SerialRow, "store": StoreRow}
CSV_COLUMNS = ("kind", *dict.fromkeys(name for row in _ROWS.values() for name in row.model_fields))


# ---------------------------------------------------------------- reading a file into a plan


@dataclass(frozen=True)
class _Listed:
    """A serial to store, with where the file lists it."""

    where: str
    model: str
    serial: str
    chk: str | None


@dataclass
class _Plan:
    products: list[tuple[str, Product]] = field(default_factory=list)
    serials: list[_Listed] = field(default_factory=list)
    stores: list[tuple[str, str]] = field(default_factory=list)  # (country, name)
    problems: list[FileProblem] = field(default_factory=list)

    def add(self, where: str, record: Product | SerialRow | StoreRow | None) -> None:
        if isinstance(record, Product):
            self.products.append((where, record))
        elif isinstance(record, SerialRow):
            self.serials.append(_Listed(where, record.model, record.serial, record.chk))
        elif isinstance(record, StoreRow):
            self.stores.append((record.country, record.store))


def _toml_plan(data: dict[str, Any]) -> _Plan:
    plan = _Plan()
    for key in data:
        if key not in ("products", "stores"):
            plan.problems.append(FileProblem(f"unknown table {key!r} (expected [[products]] and [[stores]])"))
    for index, table in enumerate(_tables(data, "products", plan), start=1):
        model = table.get("model") if isinstance(table, dict) else None
        where = f"products[{index}]" + (f" (model {model.strip()})" if isinstance(model, str) and model.strip() else "")
        product = validate(ProductTable, table, where, plan.problems)
        if product is not None:
            plan.add(where, product)
            for position, entry in enumerate(product.serials, start=1):
                plan.serials.append(_Listed(f"{where}: serials[{position}]", product.model, entry.serial, entry.chk))
    for index, table in enumerate(_tables(data, "stores", plan), start=1):
        stores = validate(StoreTable, table, f"stores[{index}]", plan.problems)
        if stores is not None:
            plan.stores.extend((stores.country, name) for name in stores.names)
    if not plan.products and not plan.stores and not plan.problems:
        plan.problems.append(FileProblem("no [[products]] or [[stores]] tables"))
    return plan


def _tables(data: dict[str, Any], key: str, plan: _Plan) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        plan.problems.append(FileProblem(f"must be written as [[{key}]] tables", field=key))
        return []
    return value


def _csv_plan(content: str) -> _Plan:
    plan = _Plan()
    reader = csv.DictReader(content.splitlines(), restkey=_EXTRA)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if not header:
        plan.problems.append(FileProblem("the file is empty (expected a header row)"))
        return plan
    reader.fieldnames = header
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown or "kind" not in header:
        expected, unexpected = ", ".join(CSV_COLUMNS), ", ".join(unknown) or "none"
        message = f"header must include 'kind' and only these columns: {expected} (unexpected: {unexpected})"
        plan.problems.append(FileProblem(message, "line 1"))
        return plan
    for row in reader:
        where = f"line {reader.line_num}"
        record = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
        kind = str(record.get("kind") or "").lower()
        if kind.startswith("#") or not any(v for k, v in record.items() if k != _EXTRA):
            continue
        if record.get(_EXTRA):
            plan.problems.append(
                FileProblem("more values than header columns (a comma inside a value needs quotes)", where)
            )
            continue
        row_model = _ROWS.get(kind)
        if row_model is None:
            plan.problems.append(FileProblem(f"must be 'product', 'serial' or 'store', got {kind!r}", where, "kind"))
            continue
        values = {k: v for k, v in record.items() if k in row_model.model_fields}
        plan.add(where, validate(row_model, values, where, plan.problems))
    return plan


def _read(path: Path) -> _Plan:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return _toml_plan(read_toml(path))
    if suffix == ".csv":
        return _csv_plan(read_text(path))
    read_text(path)  # a missing file is reported as such, whatever its name
    raise FileLoadError(path, [f"unknown file type {path.suffix!r} (expected .toml or .csv)"])


# ---------------------------------------------------------------- checks across records and the database


def _check_duplicates(plan: _Plan) -> None:
    models: dict[str, str] = {}
    for where, product in plan.products:
        if product.model in models:
            plan.problems.append(
                FileProblem(f"{product.model} is already defined at {models[product.model]}", where, "model")
            )
        models.setdefault(product.model, where)
    serials: dict[str, str] = {}
    for entry in plan.serials:
        if entry.serial in serials:
            plan.problems.append(
                FileProblem(f"{entry.serial} is already listed at {serials[entry.serial]}", entry.where, "serial")
            )
        serials.setdefault(entry.serial, entry.where)


async def _resolve_serials(session: AsyncSession, plan: _Plan) -> dict[str, CatalogueProduct]:
    """Checks each serial against its product (from the file or the database); returns those from the database."""
    in_file: dict[str, Product] = {product.model: product for _, product in plan.products}
    missing = {s.model for s in plan.serials if s.model not in in_file}
    stored = {p.model: p for p in await rows_in(session, CatalogueProduct, CatalogueProduct.model, missing)}
    for entry in plan.serials:
        owner = in_file.get(entry.model) or stored.get(entry.model)
        if owner is None:
            message = (
                f"unknown model {entry.model!r} for serial {entry.serial} (define it in this file or load it first)"
            )
            plan.problems.append(FileProblem(message, entry.where, "model"))
            continue
        if owner.serial_pattern and not fits_pattern(entry.serial, owner.serial_pattern):
            message = (
                f"{entry.serial} does not match the serial_pattern {owner.serial_pattern!r} of model {entry.model}"
            )
            plan.problems.append(FileProblem(message, entry.where, "serial"))
        if entry.chk is None and owner.chk_mode == "list":
            plan.problems.append(
                FileProblem(f"is missing (model {entry.model} uses listed CHK codes)", entry.where, "chk")
            )
    return stored


def _line(problem: FileProblem) -> int:
    """A CSV problem's line, so checks against other rows are listed in file order too (TOML: 0, kept in order)."""
    found = re.match(r"line (\d+)", problem.where)
    return int(found.group(1)) if found else 0


# ---------------------------------------------------------------- writing


@dataclass
class LoadReport:
    """What the file held; `created`/`updated` say how much of it changed the database."""

    products: int
    serials: int
    stores: int
    created: int = 0
    updated: int = 0

    def track(self, created: bool, changed: bool) -> None:
        self.created += created
        self.updated += changed and not created


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Sets only what differs, so an unchanged reload leaves rows (and updates) untouched."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


async def _write_products(session: AsyncSession, plan: _Plan, report: LoadReport) -> dict[str, CatalogueProduct]:
    models = [product.model for _, product in plan.products]
    existing = {p.model: p for p in await rows_in(session, CatalogueProduct, CatalogueProduct.model, models)}
    for _, product in plan.products:
        row = existing.get(product.model)
        if row is None:
            row = existing[product.model] = CatalogueProduct(model=product.model, **product.columns())
            session.add(row)
            report.track(True, True)
        else:
            report.track(False, _assign(row, product.columns()))
    await session.flush()
    return existing


async def _write_serials(
    session: AsyncSession, plan: _Plan, products: dict[str, CatalogueProduct], report: LoadReport
) -> None:
    existing = await listed_serials(session, (s.serial for s in plan.serials))
    for item in plan.serials:
        values = {"product_id": products[item.model].id, "chk": item.chk}
        row = existing.get(item.serial)
        if row is None:
            session.add(CatalogueSerial(serial=item.serial, **values))
            report.track(True, True)
        else:
            report.track(False, _assign(row, values))


async def _write_stores(session: AsyncSession, wanted: list[tuple[str, str]], report: LoadReport) -> None:
    rows = await rows_in(session, Store, Store.country, {country for country, _ in wanted})
    have = {(row.country, row.name) for row in rows}
    for country, name in wanted:
        if (country, name) not in have:
            session.add(Store(country=country, name=name))
            report.track(True, True)


async def load_catalogue_file(session: AsyncSession, path: Path) -> LoadReport:
    """Validates the whole file, then upserts it; raises FileLoadError before writing anything."""
    path = Path(path)
    plan = _read(path)
    _check_duplicates(plan)
    stored = await _resolve_serials(session, plan)
    if plan.problems:
        raise FileLoadError(path, sorted(plan.problems, key=_line))
    stores = list(dict.fromkeys(plan.stores))
    report = LoadReport(len(plan.products), len(plan.serials), len(stores))
    products = stored | await _write_products(session, plan, report)
    await _write_serials(session, plan, products, report)
    await _write_stores(session, stores, report)
    await session.flush()
    return report
