"""The product catalogue, loaded from an operator's TOML or CSV file (formats: `storage.catalogue_format`).

Loading upserts and never deletes: products are keyed by `model`, serials by `serial`, stores by
`(country, name)`. Reloading the same file changes nothing; a changed field is updated. The whole
file is validated before anything is written, and every problem is reported at once, each naming
the file, the record (`products[2] (model 9S6-3PA2CT-038)`, `line 12`) and the field; the checks
against other records and the database (a model defined once, a serial listed once, its product
known, the serial fitting the product's pattern, a CHK for a listed product) for the records that
are valid.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import catalogue_cache
from storage.catalogue_format import CSV_COLUMNS, ROWS, Product, ProductTable, SerialRow, StoreRow, StoreTable
from storage.catalogue_lookup import fits_pattern, listed_serials, rows_in
from storage.file_errors import FileLoadError, FileProblem
from storage.file_models import read_text, read_toml, validate
from storage.models import CatalogueProduct, CatalogueSerial, Store

CatalogueFileError = FileLoadError  # the name the CLI and older code use; one error for every file

_EXTRA = "__extra__"  # where csv.DictReader puts values beyond the header's columns


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
        row_model = ROWS.get(kind)
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
        plan.problems.sort(key=_line)
        raise FileLoadError(path, plan.problems)
    stores = list(dict.fromkeys(plan.stores))
    report = LoadReport(len(plan.products), len(plan.serials), len(stores))
    products = stored | await _write_products(session, plan, report)
    await _write_serials(session, plan, products, report)
    await _write_stores(session, stores, report)
    await catalogue_cache.bump_version(session, datetime.now(UTC))  # every process reloads its catalogue
    await session.flush()
    return report
