"""Message catalogues: a folder per language, a TOML file per feature; keys are dotted table paths.

Each feature owns its file (`en/register.toml`, `zh-Hant/register.toml`, …); a key defined in two
files of one language is an error, so features cannot overwrite each other's messages.
`glossary.toml` beside them is the language's word list (tests/test_glossary.py), not messages.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent
GLOSSARY_FILE = "glossary.toml"


def _message_files(language: str) -> list[Path]:
    return sorted(p for p in (LOCALES_DIR / language).glob("*.toml") if p.name != GLOSSARY_FILE)


@cache
def available_languages() -> tuple[str, ...]:
    """Languages with a catalogue, English first (it is the fallback)."""
    names = sorted(p.name for p in LOCALES_DIR.iterdir() if p.is_dir() and _message_files(p.name))
    return tuple(sorted(names, key=lambda n: (n != "en", n)))


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{path}."))
        elif isinstance(value, str):
            flat[path] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat[path] = "\n".join(value)
        else:
            raise ValueError(f"{path}: only strings and tables belong in a catalogue")
    return flat


@cache
def load_catalogue(language: str) -> dict[str, str]:
    """The flattened catalogue of one language, merged from its feature files."""
    merged: dict[str, str] = {}
    for path in _message_files(language):
        with path.open("rb") as fh:
            flat = _flatten(tomllib.load(fh))
        clash = sorted(set(flat) & set(merged))
        if clash:
            raise ValueError(f"{path}: keys already defined in another file: {', '.join(clash)}")
        merged.update(flat)
    return merged
