#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+: `python3 dev.py demo|test|bench`.

Creates `.venv` on first use, installs the project with its extras into it (again whenever
pyproject.toml changes), then runs the command inside it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def ensure_venv() -> None:
    """Creates the venv and installs `.[dev,postgres]` unless pyproject.toml is unchanged."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 the user has
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PYTHON.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the project and its dependencies into .venv …", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", ".[dev,postgres]"], check=True, cwd=ROOT)
    STAMP.write_text(wanted)


def postgres_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


CHECKS = [
    ("ruff lint", ["-m", "ruff", "check", "."]),
    ("ruff format", ["-m", "ruff", "format", "--check", "."]),
    ("mypy", ["-m", "mypy"]),
    ("import contract", ["-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]),
]


def checks() -> int:
    """Lint, format, types and the layer contract (configured in pyproject.toml); 1 if any fails."""
    failed = 0
    for name, args in CHECKS:
        print(f"--- {name}", flush=True)
        if run(args) != 0:
            print(f"--- {name} FAILED", flush=True)
            failed = 1
    return failed


def run(args: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command not in ("demo", "test", "check", "bench", "bot"):
        print(__doc__)
        print(
            "commands:\n"
            "  demo   start the emulator, the bot and demo data; open the printed page\n"
            "  test   the checks, then the whole test suite (SQLite, and PostgreSQL when it answers);\n"
            "         with pytest arguments (`test -k draw`) only those tests, without the checks\n"
            "  check  only the checks: ruff (lint, format), mypy, the import contract\n"
            "  bench  run the load benchmark\n"
            "  bot …  any `python -m bot` command inside the venv"
        )
        return 0 if command == "help" else 2
    ensure_venv()
    if command == "demo":
        return run(["-m", "bot", "demo", *rest])
    if command == "bot":
        return run(["-m", "bot", *rest])
    if command == "bench":
        return run(["bench/load.py", *rest])
    if command == "check" or not rest:
        failed = checks()
        if failed or command == "check":
            return failed
    env = dict(os.environ)
    if "TEST_DATABASE_URL" not in env:
        if postgres_answers():
            env["TEST_DATABASE_URL"] = PG_URL
        else:
            print("PostgreSQL does not answer on 127.0.0.1:5432: its tests will be reported as skipped.", flush=True)
    return run(["-m", "pytest", *rest], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
