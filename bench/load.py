"""Load benchmark: our bot against a bare python-telegram-bot echo bot, on the local emulator.

Run from the repository root:

    /work/venv/bin/python bench/load.py                       # 50 users x 20 messages
    /work/venv/bin/python bench/load.py --users 100 --messages 10 --concurrency 25
    /work/venv/bin/python bench/load.py --profile             # + where the CPU time goes

Everything runs in ONE process and event loop: the emulator (bot.emulator, port 0), the bot
under test, polling it over loopback HTTP, and N simulated users. Each user sends M messages
"/help", one at a time, waiting for the bot's answer before the next (like a person); users run
concurrently (at most C messages in flight, default C = N). After a short untimed warm-up
(W messages per user) it measures

* updates/s: answered messages / wall time of the timed phase;
* latency per reply: from ``emu.user_sends_text`` to the bot's message event in that chat
  (``emu.wait_event``, woken by the emulator, never sleep-polled); p50, p99 (and mean, max).

Scenarios (each with its own user id range, so chats never mix; each bot is stopped before the
next one starts):

    A  our bot: BotRuntime (aiohttp transport, per-user ordered concurrency, SQLite unit of
       work per update, localized /help with a keyboard), fresh migrated SQLite DB in a temp dir
    B  bare PTB echo bot, as PTB comes: HTTPXRequest, sequential update processing
    C  the same echo bot on bot.transport.AiohttpRequest + concurrent_updates(True)
    D  the same echo bot on HTTPXRequest + concurrent_updates(True)  (C vs D = transport alone)
    R  no PTB: a raw aiohttp getUpdates/sendMessage loop -- roughly the emulator's ceiling here

``--scenarios`` picks a subset (default ABCDR). Results go to stdout as a table, plus the
ratio A/B, and to bench/results/latest.json. Single event loop, so a second core is used only
by aiosqlite's worker thread; everything else (emulator included) shares one core.

The emulator shares that core, so it sets a ceiling (scenario R); its main cost is
deep-copying every message several times. ``--profile`` runs cProfile on
the timed phase (main-thread CPU time, so idle waits do not count; it slows everything several
times over, so read the shares, not the rates) and prints the CPU share per area.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import math
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/load.py` puts bench/, not the root, on the path
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import telegram  # noqa: E402

from bench.echo_bot import build_echo_app, raw_echo, running  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime import BotRuntime  # noqa: E402
from emulator import Emulator  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
TEXT = "/help"
REPLY_TIMEOUT = 30.0
POLL_TIMEOUT = 10
RESULTS = ROOT / "bench" / "results" / "latest.json"

BotUnderTest = Callable[[Emulator, Path], AbstractAsyncContextManager[object]]


@dataclass(frozen=True)
class Load:
    users: int
    messages: int
    concurrency: int
    warmup: int


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    bot: BotUnderTest
    echoes: bool  # the reply must repeat the user's text


@dataclass
class Result:
    key: str
    name: str
    replies: int
    failures: int
    wall_s: float
    updates_per_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    cpu_by_area: dict[str, float] = field(default_factory=dict)


# -- the bots under test ----------------------------------------------------------------------
@contextlib.asynccontextmanager
async def our_bot(emu: Emulator, tmp: Path) -> AsyncIterator[BotRuntime]:
    """The real bot process on a fresh SQLite database (BotRuntime migrates it on start)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        bot_token=TOKEN,
        bot_api_base_url=emu.api_base_url,
        bot_api_file_url=emu.file_base_url,
        database_url=f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
        media_dir=tmp / "media",
        chk_secret="bench-chk-secret",
        log_level="WARNING",
        reply_rate_per_second=1_000_000,  # the bot's own throughput: Telegram's ~30/s is not what is measured
    )
    runtime = BotRuntime(settings, poll_timeout=POLL_TIMEOUT)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


def echo_bot(*, aiohttp_transport: bool, concurrent: bool) -> BotUnderTest:
    def start(emu: Emulator, tmp: Path) -> AbstractAsyncContextManager[object]:
        app = build_echo_app(TOKEN, emu.api_base_url, aiohttp_transport=aiohttp_transport, concurrent=concurrent)
        return running(app, POLL_TIMEOUT)

    return start


def raw_bot(emu: Emulator, tmp: Path) -> AbstractAsyncContextManager[object]:
    return raw_echo(TOKEN, emu.api_base_url, POLL_TIMEOUT)


SCENARIOS = {
    s.key: s
    for s in (
        Scenario("A", "our bot (BotRuntime, aiohttp, SQLite)", our_bot, echoes=False),
        Scenario("B", "PTB echo, httpx, sequential", echo_bot(aiohttp_transport=False, concurrent=False), echoes=True),
        Scenario(
            "C", "PTB echo, AiohttpRequest, concurrent", echo_bot(aiohttp_transport=True, concurrent=True), echoes=True
        ),
        Scenario("D", "PTB echo, httpx, concurrent", echo_bot(aiohttp_transport=False, concurrent=True), echoes=True),
        Scenario("R", "raw aiohttp loop, no PTB (ceiling)", raw_bot, echoes=True),
    )
}


# -- simulated users --------------------------------------------------------------------------
async def round_trip(emu: Emulator, user_id: int, echoes: bool) -> float:
    """One message and its answer; returns the latency in seconds."""
    start = time.perf_counter()
    await emu.user_sends_text(user_id, TEXT)
    sent_seq = emu.last_seq  # user_sends_text never yields, so this is the user's own message
    event = await emu.wait_event(user_id, sent_seq, REPLY_TIMEOUT, from_bot=True)
    latency = time.perf_counter() - start
    message = event.message or {}
    if event.kind != "message" or not message.get("text") or (echoes and message["text"] != TEXT):
        raise AssertionError(f"unexpected answer in chat {user_id}: {event}")
    return latency


async def person(
    emu: Emulator, user_id: int, count: int, echoes: bool, gate: asyncio.Semaphore, latencies: list[float]
) -> int:
    """Sends `count` messages, each after the previous answer; returns how many went unanswered."""
    failures = 0
    for _ in range(count):
        async with gate:
            try:
                latencies.append(await round_trip(emu, user_id, echoes))
            except TimeoutError:
                failures += 1
    return failures


async def phase(
    emu: Emulator, user_ids: list[int], count: int, concurrency: int, echoes: bool
) -> tuple[list[float], int, float]:
    """All users at once; returns (latencies, failures, wall seconds)."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    start = time.perf_counter()
    failures = await asyncio.gather(*(person(emu, uid, count, echoes, gate, latencies) for uid in user_ids))
    return latencies, sum(failures), time.perf_counter() - start


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


# -- profiling --------------------------------------------------------------------------------
AREAS = (  # first match wins: path fragment -> area
    ("emulator/", "emulator"),
    ("/bench/", "load generator"),
    ("/bot/", "our bot"),
    ("/conversations/", "our bot"),
    ("/storage/", "our bot"),
    ("/locales/", "our bot"),
    ("/telegram/", "PTB"),
    ("/httpx/", "httpx"),
    ("/httpcore/", "httpx"),
    ("/h11/", "httpx"),
    ("/anyio/", "httpx"),
    ("/aiohttp/", "aiohttp (server+client)"),
    ("/multidict/", "aiohttp (server+client)"),
    ("/yarl/", "aiohttp (server+client)"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/aiosqlite/", "SQLAlchemy"),
    ("/asyncio/", "asyncio"),
    ("/json/", "json"),
)


def area_of(filename: str) -> str:
    for fragment, area in AREAS:
        if fragment in filename:
            return area
    return "builtins/C" if filename == "~" else "other"


def cpu_by_area(profile: cProfile.Profile) -> dict[str, float]:
    """Share (%) of the main thread's profiled CPU time per area.

    Builtins and stdlib helpers (copy, urllib, selectors...) count for the area of their
    heaviest caller, so e.g. the emulator's deepcopies count as emulator time.
    """
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    memo: dict[Any, str] = {}

    def resolve(func: Any, depth: int = 0) -> str:
        if func not in memo:
            area = area_of(func[0])
            callers = stats[func][4] if func in stats else {}
            outside = {c: v for c, v in callers.items() if c[0] != func[0]} or callers  # climb out of recursion
            if area in ("other", "builtins/C") and outside and depth < 12:
                memo[func] = area  # guards against caller cycles
                heaviest = max(outside.items(), key=lambda item: item[1][3])[0]
                area = resolve(heaviest, depth + 1)
            memo[func] = area
        return memo[func]

    totals: dict[str, float] = {}
    for func, (_, _, tottime, _, _) in stats.items():
        area = resolve(func)
        totals[area] = totals.get(area, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    return {area: round(100 * t / whole, 1) for area, t in sorted(totals.items(), key=lambda item: -item[1])}


# -- one scenario -----------------------------------------------------------------------------
async def run_scenario(emu: Emulator, scenario: Scenario, index: int, load: Load, tmp: Path, profile: bool) -> Result:
    first_id = 1_000_000 * (index + 1)
    user_ids = [first_id + i for i in range(load.users)]
    for uid in user_ids:
        emu.add_user(uid, f"User{uid}", username=f"u{uid}")
    workdir = tmp / f"{index}-{scenario.key}"
    workdir.mkdir()
    async with scenario.bot(emu, workdir):
        if load.warmup:
            await phase(emu, user_ids, load.warmup, load.concurrency, scenario.echoes)
        profiler = cProfile.Profile(time.thread_time) if profile else None  # CPU, not idle time
        if profiler is not None:
            profiler.enable()
        latencies, failures, wall = await phase(emu, user_ids, load.messages, load.concurrency, scenario.echoes)
        if profiler is not None:
            profiler.disable()
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return Result(
        key=scenario.key,
        name=scenario.name,
        replies=len(latencies),
        failures=failures,
        wall_s=round(wall, 3),
        updates_per_s=round(len(latencies) / wall, 1) if wall else 0.0,
        p50_ms=round(percentile(ms, 50), 2),
        p99_ms=round(percentile(ms, 99), 2),
        mean_ms=round(sum(ms) / len(ms), 2) if ms else 0.0,
        max_ms=round(ms[-1], 2) if ms else 0.0,
        cpu_by_area=cpu_by_area(profiler) if profiler is not None else {},
    )


async def run(load: Load, keys: str, profile: bool) -> list[Result]:
    results: list[Result] = []
    emu = Emulator(token=TOKEN, port=0)
    await emu.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            for index, key in enumerate(keys):
                result = await run_scenario(emu, SCENARIOS[key], index, load, Path(tmp), profile)
                print(
                    f"  {key}: {result.updates_per_s:8.1f} updates/s"
                    f"  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms",
                    file=sys.stderr,
                )
                results.append(result)
    finally:
        await emu.stop()
    return results


# -- report -----------------------------------------------------------------------------------
def table(results: list[Result]) -> str:
    lines = [f"{'scenario':<44} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'fail':>5}"]
    for r in results:
        lines.append(
            f"{r.key + ' ' + r.name:<44} {r.updates_per_s:>10.1f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f}"
            f" {r.mean_ms:>8.2f} {r.failures:>5}"
        )
    by_key = {r.key: r for r in results}
    if "A" in by_key and "B" in by_key and by_key["B"].updates_per_s:
        a, b = by_key["A"], by_key["B"]
        lines.append(
            f"A/B: throughput x{a.updates_per_s / b.updates_per_s:.2f},"
            f" p50 x{a.p50_ms / b.p50_ms:.2f}, p99 x{a.p99_ms / b.p99_ms:.2f}"
        )
    for r in results:
        if r.cpu_by_area:
            shares = ", ".join(f"{area} {pct}%" for area, pct in r.cpu_by_area.items() if pct >= 1)
            lines.append(f"CPU {r.key}: {shares}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "python-telegram-bot": telegram.__version__,
        "httpx": httpx.__version__,
        "aiohttp": aiohttp.__version__,
    }


def write_json(load: Load, results: list[Result], path: Path) -> None:
    by_key = {r.key: r for r in results}
    ratio = None
    if "A" in by_key and "B" in by_key and by_key["B"].updates_per_s:
        ratio = round(by_key["A"].updates_per_s / by_key["B"].updates_per_s, 3)
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "load": asdict(load),
        "machine": machine(),
        "results": [asdict(r) for r in results],
        "throughput_ratio_A_over_B": ratio,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> tuple[Load, str, bool]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    parser.add_argument("--messages", type=int, default=20, help="timed messages per user (default 20)")
    parser.add_argument("--concurrency", type=int, default=0, help="max messages in flight (default: = users)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed messages per user first (default 2)")
    parser.add_argument("--scenarios", default="ABCDR", help="which scenarios, in order (default ABCDR)")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed phases, report CPU share per area")
    args = parser.parse_args(argv)
    keys = args.scenarios.upper()
    unknown = set(keys) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {''.join(sorted(unknown))}; pick from {''.join(SCENARIOS)}")
    if args.users < 1 or args.messages < 1 or args.warmup < 0 or args.concurrency < 0:
        parser.error("users and messages must be >= 1, warmup and concurrency >= 0")
    load = Load(args.users, args.messages, args.concurrency or args.users, args.warmup)
    return load, keys, args.profile


def main(argv: list[str] | None = None) -> None:
    load, keys, profile = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(
        f"{load.users} users x {load.messages} messages (+{load.warmup} warm-up),"
        f" concurrency {load.concurrency}, nproc {os.cpu_count()}",
        file=sys.stderr,
    )
    results = asyncio.run(run(load, keys, profile))
    print(table(results))
    write_json(load, results, RESULTS)
    print(f"written {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
