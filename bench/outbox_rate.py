"""Does the outbox keep its rate like a metronome, and do customers still get quick answers?

    .venv/bin/python bench/outbox_rate.py [--rates 25 100] [--messages 600] [--postgres URL]
                                          [--save FILE] [--before FILE]

The bot runs as operators run it (`python -m bot run`, its own process, the real dispatcher);
the emulator and the customers run here. Each run queues N announcements to N chats, plus a few
to one private chat and to one group (their 1 s / 3 s intervals must hold), in one transaction,
while customers type /help at a fixed rate; first the customers alone (the reference), then
while the outbox drains. Times are the emulator's arrival times, where Telegram counts.

Printed per configured rate: achieved rate ÷ configured over the bulk (first to last of the N),
the most announcements in any sliding one-second window, the longest gap between two
announcements while some were due, the shortest gap seen by the one chat and by the group, and
the customers' reply latency p50/p99 idle and while it drains. `--save` keeps the numbers as
JSON; `--before FILE` prints them beside an earlier run's (e.g. of the previous commit). Each rate
runs `--rounds` times on SQLite and the median of each figure is printed (plus the worst round's
busiest second): on a shared machine one round can be caught by another process's burst of work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator import Emulator  # noqa: E402
from storage import migrate, outbox  # noqa: E402
from storage.db import create_engine, make_session_factory, unit_of_work  # noqa: E402
from tests import crash_run  # noqa: E402
from tests.databases import fresh_database  # noqa: E402
from tests.harness import Person  # noqa: E402

BULK_FIRST = 100_000  # the N chats that get one announcement each
ONE_CHAT = 99_001  # gets --per-chat announcements: 1 s apart at least
GROUP = -100_555  # gets --per-group announcements: 3 s apart at least
CHAT_INTERVAL, GROUP_INTERVAL = 1.0, 3.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


class Customers:
    """People typing /help at a fixed offered rate (open loop); each waits for their own answer."""

    def __init__(self, people: list[Person], rate: float) -> None:
        self.people = people
        self.rate = rate
        self.latencies: list[float] = []
        self.skipped = 0

    async def _ask(self, person: Person, busy: set[int]) -> None:
        busy.add(person.user_id)
        try:
            started = time.perf_counter()
            await person.send("/help")
            await person.next_reply(timeout=60)
            self.latencies.append(time.perf_counter() - started)
        finally:
            busy.discard(person.user_id)

    async def run(self, stop: asyncio.Event, least: float) -> list[float]:
        """Asks until `stop` is set and at least `least` seconds passed; returns the latencies."""
        self.latencies = []
        busy: set[int] = set()
        tasks: list[asyncio.Task[None]] = []
        began = time.perf_counter()
        tick = 0
        while not stop.is_set() or time.perf_counter() - began < least:
            person = self.people[tick % len(self.people)]
            if person.user_id in busy:
                self.skipped += 1  # still waiting for the last answer: a person does not type ahead
            else:
                tasks.append(asyncio.ensure_future(self._ask(person, busy)))
            tick += 1
            await asyncio.sleep(max(0.0, began + tick / self.rate - time.perf_counter()))
        await asyncio.gather(*tasks)
        return list(self.latencies)


async def queue_announcements(url: str, chats: list[int], per_chat: int, per_group: int) -> None:
    engine = create_engine(url)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    async with unit_of_work(
        sessions
    ) as session:  # the one chat's and the group's first: they must not hold up the rest
        for chat_id in [ONE_CHAT] * per_chat + [GROUP] * per_group + chats:
            await outbox.enqueue(
                session, chat_id=chat_id, kind="bench", key="status.landing", language="en",
                values={"url": f"m{chat_id}"}, now=now,
            )  # fmt: skip
    await engine.dispose()


def measure(log: list[tuple[float, str, int]], chats: set[int], rate: float) -> dict[str, float]:
    announcements = sorted(
        t for t, method, c in log if method == "sendMessage" and (c in chats or c in (ONE_CHAT, GROUP))
    )
    bulk = sorted(t for t, method, c in log if method == "sendMessage" and c in chats)
    first, last = bulk[0], bulk[-1]
    in_bulk = [t for t in announcements if first <= t <= last]
    achieved = (len(in_bulk) - 1) / (last - first)
    window = max(
        sum(1 for u in announcements[i : i + int(rate) * 3] if u < t + 1.0) for i, t in enumerate(announcements)
    )
    every = sorted(t for t, method, _ in log if method == "sendMessage" and first <= t <= last)
    window_all = max(sum(1 for u in every[i : i + int(rate) * 6] if u < t + 1.0) for i, t in enumerate(every))
    gaps = [b - a for a, b in zip(in_bulk, in_bulk[1:], strict=False)]

    def least_gap(chat: int) -> float:
        times = sorted(t for t, method, c in log if method == "sendMessage" and c == chat)
        return min((b - a for a, b in zip(times, times[1:], strict=False)), default=float("nan"))

    return {
        "configured": rate,
        "achieved": achieved,
        "ratio": achieved / rate,
        "max_window": float(window),
        "max_window_with_replies": float(window_all),
        "longest_gap_ms": 1000 * max(gaps),
        "gaps_over_3_slots": float(sum(1 for g in gaps if g > 3.0 / rate)),
        "one_chat_least_gap": least_gap(ONE_CHAT),
        "group_least_gap": least_gap(GROUP),
        "drain_seconds": announcements[-1] - announcements[0],
    }


async def one(url: str, rate: float, messages: int, per_chat: int, per_group: int, typing: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp) / "media"
        await migrate.upgrade(url)
        seeded = await crash_run.seed(url, media, 10)
        emulator = Emulator(token=crash_run.TOKEN, port=0)
        await emulator.start()
        chats = list(range(BULK_FIRST, BULK_FIRST + messages))
        for chat_id in [*chats, ONE_CHAT]:
            emulator.add_user(chat_id, f"U{chat_id}")
            emulator.state.chat_for_user_action(chat_id, None).started = True
        emulator.add_user(crash_run.STAFF_ID, "Sam")
        emulator.add_group(GROUP, "Announcements", [crash_run.STAFF_ID])
        env = crash_run.bot_env(emulator, url, media) | {
            "OUTBOX_RATE_PER_SECOND": str(rate),
            "OUTBOX_CHAT_INTERVAL_SECONDS": str(CHAT_INTERVAL),
            "OUTBOX_GROUP_INTERVAL_SECONDS": str(GROUP_INTERVAL),
            "OUTBOX_POLL_SECONDS": "0.5",
            "REPLY_RATE_PER_SECOND": "10",
            "LOG_LEVEL": "WARNING",
        }
        process = crash_run.BotProcess(env, Path(tmp) / "bot.log")
        killer = crash_run.Killer(emulator, process, [])
        customers = Customers([Person(emulator, user_id, f"C{user_id}") for user_id, _ in seeded], typing)
        try:
            process.start()
            await killer.ready()
            for person in customers.people[:3]:  # warm up
                await person.send("/help")
                await person.next_reply(timeout=60)
            done = asyncio.Event()
            done.set()
            idle = await customers.run(done, 6.0)
            expected = messages + per_chat + per_group
            targets = {*chats, ONE_CHAT, GROUP}

            def delivered() -> bool | None:
                count = sum(1 for _, method, c in emulator.send_log if method == "sendMessage" and c in targets)
                return True if count >= expected else None

            drained = asyncio.Event()
            asking = asyncio.ensure_future(customers.run(drained, 0.0))
            assert process.proc is not None
            cpu_before = cpu_seconds(process.proc.pid)
            await queue_announcements(url, chats, per_chat, per_group)
            await emulator.state.event_notifier.wait_for(delivered, 600)
            cpu = cpu_seconds(process.proc.pid) - cpu_before
            drained.set()
            busy = await asking
        finally:
            await process.terminate()
            await emulator.stop()
        result = measure(emulator.send_log, set(chats), rate)
        result |= {
            "idle_p50_ms": 1000 * statistics.median(idle),
            "idle_p99_ms": 1000 * percentile(idle, 0.99),
            "busy_p50_ms": 1000 * statistics.median(busy),
            "busy_p99_ms": 1000 * percentile(busy, 0.99),
            "busy_requests": float(len(busy)),
            "cpu_ms_per_message": 1000 * cpu / expected,  # the bot process's, customers' /help included
        }
        return result


ROWS: list[tuple[str, str | tuple[str, str], str]] = [
    ("achieved ÷ configured", "ratio", "{:.3f}"),
    ("achieved /s", "achieved", "{:.1f}"),
    ("most in any 1 s window", "max_window", "{:.0f}"),
    ("… worst round", "max_window_worst", "{:.0f}"),
    ("… with replies", "max_window_with_replies", "{:.0f}"),
    ("longest gap while due", "longest_gap_ms", "{:.0f} ms"),
    ("gaps over 3 slots", "gaps_over_3_slots", "{:.0f}"),
    ("one chat: least gap", "one_chat_least_gap", "{:.2f} s"),
    ("group: least gap", "group_least_gap", "{:.2f} s"),
    ("bot CPU per announcement", "cpu_ms_per_message", "{:.2f} ms"),
    ("replies idle p50 / p99", ("idle_p50_ms", "idle_p99_ms"), "{:.0f} / {:.0f} ms"),
    ("replies draining p50 / p99", ("busy_p50_ms", "busy_p99_ms"), "{:.0f} / {:.0f} ms"),
]


def cell(result: dict[str, float] | None, key: str | tuple[str, str], fmt: str) -> str:
    if result is None or any(k not in result for k in ((key,) if isinstance(key, str) else key)):
        return "—"
    return fmt.format(*(result[k] for k in ((key,) if isinstance(key, str) else key)))


def report(results: dict[str, dict[str, float]], before: dict[str, dict[str, float]]) -> None:
    for name, result in results.items():
        print(f"\n{name}: {result['configured']:.0f}/s configured")
        print(f"  {'':<28} {'before':>18} {'after':>18}" if before else "")
        for label, key, fmt in ROWS:
            previous = cell(before.get(name), key, fmt) if before else ""
            print(f"  {label:<28} {previous:>18} {cell(result, key, fmt):>18}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="+", default=[25.0, 100.0])
    parser.add_argument("--messages", type=int, default=600, help="announcements to as many chats")
    parser.add_argument("--per-chat", type=int, default=8, help="announcements to one private chat")
    parser.add_argument("--per-group", type=int, default=4, help="announcements to one group")
    parser.add_argument("--typing", type=float, default=5.0, help="customers' /help per second")
    parser.add_argument("--rounds", type=int, default=3, help="runs per rate on SQLite; the median is printed")
    parser.add_argument("--postgres", help="also run on a fresh database on this server (one round)")
    parser.add_argument("--save", type=Path, help="write the results as JSON")
    parser.add_argument("--before", type=Path, help="an earlier --save, printed beside these")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for database, server in [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else []):
        for rate in args.rates:
            with tempfile.TemporaryDirectory() as tmp:
                async with fresh_database(server, Path(tmp)) as url:
                    rounds = [
                        await one(url if n == 0 else f"{url}.{n}", rate, args.messages, args.per_chat,
                                  args.per_group, args.typing)
                        for n in range(args.rounds)
                    ] if server is None else [
                        await one(url, rate, args.messages, args.per_chat, args.per_group, args.typing)
                    ]  # fmt: skip
                result = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
                result["max_window_worst"] = max(r["max_window"] for r in rounds)
                results[f"{database} {rate:.0f}/s"] = result
    before: dict[str, Any] = json.loads(args.before.read_text()) if args.before else {}
    report(results, before)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
