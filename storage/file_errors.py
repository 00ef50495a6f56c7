"""The one error an operator's file raises when it cannot be loaded (catalogue, promotions).

Each problem names where it is in the file (`line 12` of a CSV, `products[3] (model 9S6-…)`,
`promotions[2] (spring-2026)`), the field (`serial`, `prize.kind`) and what is wrong; the error
names the file and holds every problem found, so an operator fixes the file in one go::

    catalogue.csv: 2 problems:
      line 12: serial: must be 4-40 letters and digits, got 'BA9H-04?'
      line 14: chk: must be exactly 3 digits, got '31'

`problems_from` turns a pydantic `ValidationError` of one record into these problems.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

MANY_PROBLEMS = "file_problems"  # the error type of `several`, which carries a list of problems


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong in a file: where (record), which field, and what."""

    message: str
    where: str = ""  # "line 12", "products[3] (model 9S6-…)", "promotions[2] (spring-2026)"; "": the whole file
    field: str = ""  # "serial", "prize.kind", "names[2]"; "": the record as a whole

    def __str__(self) -> str:
        return ": ".join(part for part in (self.where, self.field, self.message) if part)


class FileLoadError(Exception):
    """A file cannot be loaded: nothing of it was written. The message names the file and each problem.

    `details` holds the problems as `FileProblem`s, `problems` the same as text (one line each).
    """

    def __init__(self, path: Path, problems: Sequence[FileProblem | str]) -> None:
        self.path = Path(path)
        self.details = [p if isinstance(p, FileProblem) else FileProblem(p) for p in problems]
        self.problems = [str(p) for p in self.details]
        if len(self.problems) == 1:
            message = f"{path}: {self.problems[0]}"
        else:
            lines = "\n".join(f"  {p}" for p in self.problems)
            message = f"{path}: {len(self.problems)} problems:\n{lines}"
        super().__init__(message)


def several(found: Sequence[tuple[str, str]]) -> PydanticCustomError:
    """The checks across fields of one record, as one pydantic error: `(field, message)` each.

    Raise it from a model validator (`raise several(found)` when `found`); `problems_from`
    reports each one under its own field.
    """
    summary = "; ".join(f"{name}: {message}" if name else message for name, message in found)
    return PydanticCustomError(MANY_PROBLEMS, "{summary}", {"summary": summary, "problems": list(found)})


def problems_from(error: ValidationError, where: str, model: type[BaseModel]) -> list[FileProblem]:
    """The problems of one record (validated as `model`) at `where`, in the file's own words."""
    found: list[FileProblem] = []
    for detail in error.errors():
        loc = detail["loc"]
        if detail["type"] == MANY_PROBLEMS:
            for name, message in detail.get("ctx", {})["problems"]:
                found.append(_at(where, (*loc, *name.split(".")) if name else loc, message))
        else:
            found.append(_at(where, loc, _message(detail, model)))
    return found


def _at(where: str, loc: Sequence[int | str], message: str) -> FileProblem:
    """`("serials", 0, "chk")` is field `chk` of `serials[1]`: the part up to the last list index is a place."""
    last_index = max((i for i, part in enumerate(loc) if isinstance(part, int)), default=-1)
    place = _path(loc[: last_index + 1])
    return FileProblem(
        message, f"{where}: {place}" if where and place else where or place, _path(loc[last_index + 1 :])
    )


def _path(parts: Sequence[int | str]) -> str:
    text = ""
    for part in parts:
        text += f"[{part + 1}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _message(detail: ErrorDetails, model: type[BaseModel]) -> str:
    kind, ctx = detail["type"], detail.get("ctx", {})
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return _unknown_field(str(detail["loc"][-1]), _model_at(model, detail["loc"][:-1]))
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    text = detail["msg"]  # pydantic's own words, for the few shapes our validators do not check first
    return f"{text[:1].lower()}{text[1:]}, got {detail['input']!r}"


def _unknown_field(key: str, model: type[BaseModel] | None) -> str:
    allowed = [info.alias or name for name, info in model.model_fields.items()] if model else []
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"unknown field {key!r} ({hint}expected one of {', '.join(allowed)})" if allowed else f"unknown field {key!r}"
    )


def _model_at(model: type[BaseModel] | None, loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class that validates the table at `loc` (list indices skipped)."""
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field else None
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        if found := _model_in(argument):
            return found
    return None
