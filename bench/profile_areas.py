"""Where a process's CPU goes, by library, from py-spy's collapsed stacks (`--format raw`).

    .venv/bin/python bench/profile_areas.py profile.txt

bench/cpu.py --profile SCENARIO records the bot with py-spy (install it into .venv yourself;
it is no dependency) and prints this. Each sample counts for the innermost frame that belongs
to a known area, so the standard library's helpers count for whoever called them; samples of a
thread blocked in a wait (epoll, a queue) are left out, as py-spy does not always see them idle.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

AREAS = (  # first match wins: path fragment -> area
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/aiosqlite/", "aiosqlite"),
    ("sqlite3", "sqlite3 (C)"),
    ("/asyncpg/", "asyncpg"),
    ("/telegram/", "PTB"),
    ("/aiohttp/", "aiohttp"),
    ("/multidict/", "aiohttp"),
    ("/yarl/", "aiohttp"),
    ("/httpx/", "httpx"),
    ("/httpcore/", "httpx"),
    ("/h11/", "httpx"),
    ("/anyio/", "httpx"),
    ("/PIL/", "Pillow"),
    ("/babel/", "Babel"),
    ("/pydantic", "pydantic"),
    ("/locales/", "the project: locales"),
    ("/bot/", "the project: bot"),
    ("/conversations/", "the project: conversations"),
    ("/staff/", "the project: staff"),
    ("/storage/", "the project: storage"),
    ("/json/", "json"),
    ("netrc", "netrc/proxy look-ups"),
    ("urllib/request", "netrc/proxy look-ups"),
    ("/logging/", "logging"),
    ("/concurrent/", "threads (executor)"),
    ("threading.py", "threads (executor)"),
    ("/asyncio/", "asyncio"),
)
IDLE_LEAVES = (  # waits that py-spy may sample as busy: a thread blocked here burns no CPU
    ".select (selectors.py",  # epoll_wait
    "_connection_worker_thread (aiosqlite/core.py:59)",  # tx.get(): the worker waits for work
    "wait (threading.py",
    "get (queue.py",
    "_worker (concurrent/futures/thread.py",
)
FRAME = re.compile(r"\((?P<file>[^()]*?):\d+\)$")


def area_of(frame: str) -> str | None:
    match = FRAME.search(frame)
    path = "/" + (match.group("file") if match else frame)  # py-spy shortens to "sqlalchemy/orm/session.py"
    for fragment, area in AREAS:
        if fragment in path:
            return area
    return None


def shares(text: str) -> dict[str, float]:
    """Percent of samples per area; a stack line is `frame;frame;...;leaf COUNT`."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any(leaf in frames[-1] for leaf in IDLE_LEAVES):
            continue
        area = next((a for f in reversed(frames) if (a := area_of(f)) is not None), "other")
        counts[area] += int(count)
    whole = sum(counts.values()) or 1
    return {area: round(100 * n / whole, 1) for area, n in counts.most_common()}


def main(argv: list[str]) -> int:
    for name in argv:
        print(name)
        for area, share in shares(Path(name).read_text()).items():
            print(f"  {share:5.1f} %  {area}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
