"""The house rules a reader can check by imports: storage/ knows nothing of Telegram, and the
emulator is a package of its own that imports nothing of the product."""

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


@pytest.mark.parametrize(("package", "forbidden"), [("storage", {"telegram"}), ("emulator", {"bot", "conversations", "storage", "locales"})])
def test_forbidden_imports(package: str, forbidden: set[str]) -> None:
    offenders = {path: sorted(names & forbidden) for path, names in _imports(package).items() if names & forbidden}
    assert offenders == {}


def test_the_check_sees_imports() -> None:
    """Guards the guard: the scan finds what the files really import."""
    assert "sqlalchemy" in _imports("storage")["storage/outbox.py"]
    assert "aiohttp" in _imports("emulator")["emulator/server.py"]
