"""What the operator's files are made of: the pydantic base of their records and the shared field types.

A record (a `[[products]]` table, a CSV row, a `[[promotions]]` table) is a `FileModel`: unknown
fields are refused, a blank value counts as left out, and every field is checked by one of the
parsers below, which raise `ValueError` with the operator's words ("must be a date like
2026-02-01, got '02/11/2020'"). `validate` collects a record's problems instead of raising, so a
loader can report the whole file at once (see `storage.file_errors`).
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError, model_validator

from storage.catalogue_lookup import ISO_COUNTRIES
from storage.file_errors import FileLoadError, FileProblem, problems_from

_COUNTRY_HINTS = {"UK": "GB", "EL": "GR"}

M = TypeVar("M", bound="FileModel")


class FileModel(BaseModel):
    """One record of an operator's file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _a_table(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            fields = ", ".join(f"{name} = …" for name in cls.model_fields)
            raise ValueError(f"must be a table like {{{fields}}}, got {value!r}")
        return {key: item for key, item in value.items() if not blank(item)}


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate(model: type[M], record: Any, where: str, problems: list[FileProblem]) -> M | None:
    """The record as `model`, or None with its problems added to `problems`."""
    try:
        return model.model_validate(record)
    except ValidationError as error:
        problems.extend(problems_from(error, where, model))
        return None


# ---------------------------------------------------------------- reading


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileLoadError(path, ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise FileLoadError(path, [f"not UTF-8 text (byte {exc.start})"]) from None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise FileLoadError(path, [f"TOML syntax error: {exc}"]) from None


# ---------------------------------------------------------------- parsers shared by the formats


def text(max_length: int) -> PlainValidator:
    """Non-empty text of at most `max_length` characters, trimmed."""

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be non-empty text, got {value!r}")
        if len(value.strip()) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return value.strip()

    return PlainValidator(parse)


def parse_positive_int(value: Any) -> int:
    """A whole number above zero; in a CSV cell it is text, so digits in a string count too."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"must be a positive whole number, got {value!r}")
    return value


def parse_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
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
    raise ValueError(f"must be a date like 2026-02-01, got {value!r}")


def parse_regex(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a regular expression, got {value!r}")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression ({exc}): {value!r}") from None
    return value


def parse_country(value: Any) -> str:
    """An ISO 3166-1 alpha-2 code; `UK` gets a hint because operators write it often."""
    code = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(code, str) or code not in ISO_COUNTRIES:
        hint = f" (did you mean {_COUNTRY_HINTS[code]!r}?)" if code in _COUNTRY_HINTS else ""
        raise ValueError(f"is not an ISO 3166-1 alpha-2 country code: {value!r}{hint}")
    return str(code)


PositiveInt = Annotated[int, PlainValidator(parse_positive_int)]
Bool = Annotated[bool, PlainValidator(parse_bool)]
FileDate = Annotated[date, PlainValidator(parse_date)]
Regex = Annotated[str, PlainValidator(parse_regex)]
Country = Annotated[str, PlainValidator(parse_country)]
