"""The catalogue file formats as pydantic models: what each TOML table and CSV row holds, and its checks.

TOML (see `storage/demo/catalogue.toml`): `[[products]]` tables (`ProductTable`, with its
`serials`, each a `SerialEntry`) and `[[stores]]` tables (`StoreTable`)::

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
the header). A row whose `kind` starts with `#` is a comment. Columns (`CSV_COLUMNS`)::

    kind,category,name,model,warranty_months,launch_date,serial_pattern,chk_mode,serial,chk,country,store
    product,monitor,PRO MP241,9S6-3PA2CT-038,36,2021-01-15,^BA9H[0-9]{9}$,list,,,,
    serial,,,9S6-3PA2CT-038,,,,,BA9H040230046,123,,
    store,,,,,,,,,,SG,Challenger

A serial row names its product by `model`: defined in the same file or already in the database
(checked by `storage.catalogue_loader`, with the serial against its product's pattern).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from pydantic import Field, PlainValidator, field_validator, model_validator

from storage.catalogue_lookup import CHK_MODES, CHK_SHAPE, SERIAL_SHAPE, clean_serial
from storage.file_errors import several
from storage.file_models import Country, FileDate, FileModel, PositiveInt, parse_regex, text
from storage.models import Category

MAX_PATTERN = 200  # characters of a serial_pattern (the column's width)

_CATEGORY_ALIASES = {"all_in_one": "aio", "all_in_one_pc": "aio", "gpu": "graphics_card", "case": "pc_case"}


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


# The record of each CSV `kind`; the columns are all their fields.
ROWS: dict[str, type[Product | SerialRow | StoreRow]] = {"product": Product, "serial": SerialRow, "store": StoreRow}
CSV_COLUMNS = ("kind", *dict.fromkeys(name for row in ROWS.values() for name in row.model_fields))
