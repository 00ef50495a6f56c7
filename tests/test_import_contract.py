"""The house rules a reader can check by imports: storage/ knows nothing of Telegram, the
emulator is a package of its own that imports nothing of the product, and handlers build no
queries (the layer contracts in pyproject.toml, checked by import-linter, say the same per package). And by its literals:
storage/ holds no messenger callback strings and formats no dates or money (the bot renders)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(package: str) -> dict[str, set[str]]:
    """Top-level module names each file of `package` imports (relative imports left out)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"), [("storage", {"telegram"}), ("emulator", {"bot", "conversations", "storage", "locales"})]
)
def test_forbidden_imports(package: str, forbidden: set[str]) -> None:
    offenders = {path: sorted(names & forbidden) for path, names in _imports(package).items() if names & forbidden}
    assert offenders == {}


def _sqlalchemy_imports(package: str) -> dict[str, list[str]]:
    """The SQLAlchemy modules each file of `package` imports, the async session types left out."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            names += [m for m in modules if m.split(".")[0] == "sqlalchemy" and m != "sqlalchemy.ext.asyncio"]
        if names:
            found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package", ["bot", "conversations", "staff"])
def test_handlers_build_no_queries(package: str) -> None:
    """Handlers and wiring hold no SQL: select/insert/update/delete, func, text… belong to
    storage/. Only the session's type (sqlalchemy.ext.asyncio) may be named, to pass it on."""
    assert _sqlalchemy_imports(package) == {}


def test_the_query_check_sees_sqlalchemy() -> None:
    assert "sqlalchemy" in _sqlalchemy_imports("storage")["storage/outbox.py"]
    assert "storage/db.py" in _sqlalchemy_imports("storage")  # `from sqlalchemy import event, text`


def test_the_check_sees_imports() -> None:
    """Guards the guard: the scan finds what the files really import."""
    assert "sqlalchemy" in _imports("storage")["storage/outbox.py"]
    assert "aiohttp" in _imports("emulator")["emulator/server.py"]


CALLBACK_PREFIXES = ("g:", "s:")  # the customer router's global buttons, the staff buttons
# Babel's formatting belongs to the renderer (locales/i18n.py, bot/outbox.py). babel.core stays
# allowed: storage/eligibility.py reads its territory → time-zone table, a fact, not presentation.
BABEL_FORMATTING = ("babel.dates", "babel.numbers", "babel.lists", "babel.units", "babel.support")


def _presentation(source: str) -> list[str]:
    """Callback-string literals (plain or the start of an f-string) and Babel formatting imports."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            if str(node.values[0].value).startswith(CALLBACK_PREFIXES):
                found.append(f"line {node.lineno}: f-string {node.values[0].value!r}…")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith(CALLBACK_PREFIXES):
                found.append(f"line {node.lineno}: {node.value!r}")
        elif isinstance(node, ast.Import):
            names = {alias.name for alias in node.names}
            if any(name == "babel" or name.startswith(BABEL_FORMATTING) for name in names):
                found.append(f"line {node.lineno}: import {', '.join(sorted(names))}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}  # `from babel import dates`
            if any(name.startswith(BABEL_FORMATTING) for name in names):
                found.append(f"line {node.lineno}: from {node.module} import …")
    return found


def test_storage_holds_no_callback_strings_and_formats_nothing() -> None:
    offenders = {}
    for path in sorted((ROOT / "storage").rglob("*.py")):
        if "migrations" in path.parts:  # history: an old revision may name what rows once held
            continue
        if found := _presentation(path.read_text(encoding="utf-8")):
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        'buttons = [[("status.redeem_again", f"g:again:{order_id}")]]',
        'DATA = "s:approve:12"',
        "from babel.dates import format_date",
        "from babel import dates",
        "import babel.numbers",
    ],
)
def test_the_presentation_check_fails_on_what_it_forbids(source: str) -> None:
    """Guards the guard: each forbidden form is found; a domain action and Babel's data are not."""
    assert _presentation(source)
    allowed = 'buttons = [[("status.redeem_again", "again", order_id)]]\nfrom babel.core import get_global'
    assert _presentation(allowed) == []
