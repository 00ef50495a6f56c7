"""The product catalogue: finding a customer's serial in it, and loading it from operators' files.

This is the module to import; the work is done in two others, one job each:

* `storage.catalogue_lookup`: serial clean-up and look-alike fixes (O/0, I/l/1), the look-up of a
  serial's product, the CHK check, stores per region, the ISO country codes.
* `storage.catalogue_format`: the TOML and CSV file formats, as pydantic models with their checks.
* `storage.catalogue_loader`: reading a file, the checks across records and against the database,
  and the upsert. Errors are `storage.file_errors.FileLoadError` (also known here as
  `CatalogueFileError`), naming the file, the record and the field.
"""

from __future__ import annotations

from storage.catalogue_format import (
    CSV_COLUMNS,
    Product,
    ProductTable,
    SerialEntry,
    SerialRow,
    StoreRow,
    StoreTable,
    parse_category,
)
from storage.catalogue_loader import CatalogueFileError, LoadReport, load_catalogue_file
from storage.catalogue_lookup import (
    CHK_MODES,
    CHK_SHAPE,
    ISO_COUNTRIES,
    LOOKALIKES,
    MAX_VARIANTS,
    SERIAL_SHAPE,
    ChkSecretMissingError,
    Correction,
    NormalizedSerial,
    SerialMatch,
    check_chk,
    clean_serial,
    find_serial,
    fits_pattern,
    keyed_chk,
    lookalike_variants,
    normalize_serial,
    product_by_id,
    product_by_model,
    stores_for,
)
from storage.file_errors import FileLoadError, FileProblem
from storage.file_models import parse_country, parse_date, parse_regex
from storage.models import Category

__all__ = [
    "CHK_MODES",
    "CHK_SHAPE",
    "CSV_COLUMNS",
    "ISO_COUNTRIES",
    "LOOKALIKES",
    "MAX_VARIANTS",
    "SERIAL_SHAPE",
    "CatalogueFileError",
    "Category",
    "ChkSecretMissingError",
    "Correction",
    "FileLoadError",
    "FileProblem",
    "LoadReport",
    "NormalizedSerial",
    "Product",
    "ProductTable",
    "SerialEntry",
    "SerialMatch",
    "SerialRow",
    "StoreRow",
    "StoreTable",
    "check_chk",
    "clean_serial",
    "find_serial",
    "fits_pattern",
    "keyed_chk",
    "load_catalogue_file",
    "lookalike_variants",
    "normalize_serial",
    "parse_category",
    "parse_country",
    "parse_date",
    "parse_regex",
    "product_by_id",
    "product_by_model",
    "stores_for",
]
