"""CPU per update of the bot process, as an operator comparing hosting costs would measure it.

    .venv/bin/python bench/cpu.py                      # SQLite, about 5 minutes
    .venv/bin/python bench/cpu.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/cpu.py --quick              # a one-minute smoke run
    .venv/bin/python bench/cpu.py --code-tree /tmp/old # measure another checkout's bot (git archive)

The bot runs as operators run it (`python -m bot run`, long polling, its own process). This
process holds the emulator and the simulated people, so the bot's CPU (read by the kernel for
its process tree, see bench/procstat.py) is its own. The references run the same way, one
process each against a fresh emulator: the textbook PTB echo bot (httpx), the same on our
aiohttp transport, and a raw aiohttp getUpdates/sendMessage loop (the machine's floor).

Scenarios, each at fixed offered rates (a pacer hands out send slots at R per second; every
person waits for the answer before their next step, many people in parallel): /help; the
registration steps (/register → Monitor → serial → Yes → CHK → region → store → date → channel,
then /cancel and again); the mixed full flow (the whole registration with an invoice photo,
then a redemption with an S/N photo). After a warm-up, a fixed number of updates is timed:
achieved rate, p50/p99 latency (send → the expected answer), bot CPU ms per update (its idle
background work included, as on a real server). Idle RSS of each process is read before load;
the bot's again after a restart with 10,000 half-finished conversations seeded in the database.

Telegram's rate limits are lifted in the bot's settings (replies, outbox), so what is measured
is the bot's own work, not its pacing. Results: a table on stdout, bench/results/cpu.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/cpu.py` puts bench/, not the root, on the path
    sys.path.insert(0, str(ROOT))


from bench.procstat import cpu_seconds, rss_bytes  # noqa: E402
from bench.profile_areas import shares  # noqa: E402
from emulator import Emulator  # noqa: E402
from tests import crash_run  # noqa: E402
from tests.databases import create_database, drop_database  # noqa: E402
from tests.factories import invoice_jpeg  # noqa: E402
from tests.harness import Person  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "cpu.json"
STEP_TIMEOUT = 20.0
SETTLE = 0.3  # seconds after the last answer before CPU is read: replies' trailing work lands
CHK = "123"
IDLE_CONVERSATIONS = 10_000
# Telegram's limits lifted: the bot's own work per update is measured, not its pacing
BOT_OVERRIDES = {
    "REPLY_RATE_PER_SECOND": "100000",
    "OUTBOX_RATE_PER_SECOND": "100000",
    "OUTBOX_CHAT_INTERVAL_SECONDS": "0",
    "OUTBOX_GROUP_INTERVAL_SECONDS": "0",
    "OUTBOX_POLL_SECONDS": "0.5",  # the default (crash_run's 0.1 would add idle work)
    "LOG_LEVEL": "INFO",  # the default, as an operator runs it
}


# -- processes ---------------------------------------------------------------------------------
@dataclass
class Child:
    """A process under measurement, started from `tree` (the checkout whose code is measured)."""

    argv: list[str]
    env: dict[str, str]
    tree: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**self.env, "PYTHONPATH": str(self.tree), "BENCH_CODE_ROOT": str(self.tree)}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=self.tree, env=env, stdout=log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def stop(self) -> None:
        """SIGTERM and wait; SIGKILL only if it will not go."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 30)
        except TimeoutError:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait)


async def polling(emulator: Emulator, child: Child, timeout: float = 60) -> None:
    """Starts `child` and returns once it long-polls the emulator."""
    ready = asyncio.Event()

    def hook(method: str, _params: dict[str, Any], delivered: bool) -> bool:
        if method == "getUpdates" and not delivered:
            ready.set()
        return False

    emulator.on_call(hook)
    child.start()
    deadline = time.monotonic() + timeout
    while not ready.is_set():
        if child.proc is not None and child.proc.poll() is not None:
            tail = child.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{child.argv} exited with {child.proc.returncode}; its log ends:\n{tail}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{child.argv} never polled; see {child.log_path}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 0.2)
    emulator.state.call_hooks.remove(hook)


@dataclass
class Idle:
    rss_mb: float
    cpu_ms_per_s: float


async def idle(child: Child, seconds: float) -> Idle:
    """RSS once started and settled, and the CPU its background work burns per second."""
    await asyncio.sleep(3.0)  # start-up jobs (retention sweep, first outbox poll) are done by then
    before = cpu_seconds(child.pid)
    await asyncio.sleep(seconds)
    spent = cpu_seconds(child.pid) - before
    return Idle(round(rss_bytes(child.pid) / 2**20, 1), round(1000 * spent / seconds, 2))


# -- load --------------------------------------------------------------------------------------
class Pacer:
    """Hands out send slots at a fixed rate; between phases every person waits at the gate."""

    def __init__(self) -> None:
        self.issued = 0
        self.limit = 0
        self.base = 0
        self.rate = 1.0
        self.t0 = 0.0
        self.inflight = 0
        self.gate = asyncio.Event()

    def open(self, rate: float, count: int) -> None:
        self.rate, self.base, self.limit, self.t0 = rate, self.issued, self.issued + count, time.perf_counter()
        self.gate.set()

    async def take(self) -> int:
        while self.issued >= self.limit:
            self.gate.clear()
            await self.gate.wait()
        index = self.issued
        self.issued += 1
        self.inflight += 1
        delay = self.t0 + (index - self.base) / self.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return index

    @property
    def drained(self) -> bool:
        return self.issued >= self.limit and self.inflight == 0


@dataclass
class Step:
    action: Callable[[], Awaitable[None]]
    want: str  # a fragment of the answer (text or a button label) that ends the step


@dataclass
class Tally:
    sent: dict[int, float] = field(default_factory=dict)  # slot -> perf_counter at send
    answered: dict[int, float] = field(default_factory=dict)  # slot -> latency (s)
    failed: set[int] = field(default_factory=set)


Journey = tuple[Person, Iterator[Step]]


async def answer(person: Person, want: str, timeout: float = STEP_TIMEOUT) -> None:
    """Waits for the bot's message (new or edited) that carries `want`."""
    end = time.perf_counter() + timeout
    while True:
        reply = await person.next_reply(max(0.01, end - time.perf_counter()))
        if want in reply.text or any(want in label for label in reply.buttons):
            return


async def worker(journeys: Iterator[Journey], pacer: Pacer, tally: Tally, alive: list[int]) -> None:
    """One person at a time: each step waits for a slot, is sent, and waits for its answer."""
    try:
        for person, steps in journeys:
            for step in steps:
                slot = await pacer.take()
                started = time.perf_counter()
                tally.sent[slot] = started
                try:
                    await step.action()
                    await answer(person, step.want)
                    tally.answered[slot] = time.perf_counter() - started
                except AssertionError:
                    tally.failed.add(slot)
                    break  # this person is stuck; the next one takes over
                finally:
                    pacer.inflight -= 1
    finally:
        alive[0] -= 1


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), math.ceil(q / 100 * len(ordered)))) - 1]


@dataclass
class Measure:
    process: str
    database: str
    scenario: str
    offered_per_s: float
    updates: int
    achieved_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_update: float
    failures: int
    loadgen_cpu_pct: float  # this process's CPU during the phase: near 100 % means the load side limits
    load_average: float  # the machine's 1-minute load after the phase: above 2 (cores), others compete


async def phase(pacer: Pacer, tally: Tally, alive: list[int], rate: float, count: int) -> range:
    """Offers `count` updates at `rate`; returns their slots once all are answered (or failed)."""
    first = pacer.issued
    pacer.open(rate, count)
    deadline = time.perf_counter() + 2 * count / rate + 5  # a saturated bot: stop offering, keep run time bounded
    while not pacer.drained and alive[0] > 0:
        if time.perf_counter() > deadline and pacer.limit > pacer.issued:
            pacer.limit = pacer.issued  # no more slots; what is in flight is still answered and counted
        await asyncio.sleep(0.02)
    return range(first, pacer.issued)


async def measure(
    label: tuple[str, str, str], pid: int, journeys: Iterator[Journey], rates: list[float], args: Args
) -> list[Measure]:
    """Warm-up then the timed updates at each rate, one pool of people across the rates."""
    pacer, tally, alive = Pacer(), Tally(), [args.people]
    workers = [asyncio.create_task(worker(journeys, pacer, tally, alive)) for _ in range(args.people)]
    results: list[Measure] = []
    try:
        for rate in rates:
            await phase(pacer, tally, alive, rate, args.warmup)
            await asyncio.sleep(SETTLE)
            cpu0, own0 = cpu_seconds(pid), _own_cpu()
            slots = await phase(pacer, tally, alive, rate, args.updates)
            ends = [tally.sent[s] + tally.answered[s] for s in slots if s in tally.answered]
            wall = (max(ends) - tally.sent[slots[0]]) if ends and len(slots) else 0.0
            await asyncio.sleep(SETTLE)
            cpu1, own1 = cpu_seconds(pid), _own_cpu()
            latencies = [tally.answered[s] for s in slots if s in tally.answered]
            results.append(
                Measure(
                    *label,
                    offered_per_s=rate,
                    updates=len(slots),
                    achieved_per_s=round(len(latencies) / wall, 1) if wall else 0.0,
                    p50_ms=round(1000 * percentile(latencies, 50), 1),
                    p99_ms=round(1000 * percentile(latencies, 99), 1),
                    cpu_ms_per_update=round(1000 * (cpu1 - cpu0) / max(1, len(slots)), 3),
                    failures=sum(1 for s in slots if s in tally.failed or s not in tally.answered),
                    loadgen_cpu_pct=round(100 * (own1 - own0) / (wall + SETTLE), 1) if wall else 0.0,
                    load_average=round(os.getloadavg()[0], 2),
                )
            )
            print(_row(results[-1]), flush=True)
            if alive[0] == 0:
                print(f"  ! {label}: every person is stuck or done; see the bot's log", flush=True)
                break
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return results


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the people and their journeys -------------------------------------------------------------
def help_journeys(emulator: Emulator, first_id: int, echo: bool) -> Iterator[Journey]:
    """Each person asks /help again and again (an echo bot answers with the same text)."""
    for uid in itertools.count(first_id):
        person = Person(emulator, uid, f"Help{uid}")
        yield person, itertools.repeat(Step(lambda p=person: p.send("/help"), "/help" if echo else ""))


def register_steps(person: Person, serial: str) -> list[Step]:
    """The register walk of tests/test_register.py up to the invoice photo."""
    return [
        Step(lambda: person.send("/register"), "Which kind of product"),
        Step(lambda: person.press("Monitor"), "serial number"),
        Step(lambda: person.send(serial), serial),
        Step(lambda: person.press("✅ Yes, that's mine"), "CHK"),
        Step(lambda: person.send(CHK), "where did you buy it"),
        Step(lambda: person.press("Singapore"), "Choose the store in Singapore"),
        Step(lambda: person.press("Courts"), "When did you buy it"),
        Step(lambda: person.send("03/03/2026"), "where did you purchase"),
        Step(lambda: person.press("Online retailer"), "invoice"),
    ]


def registration_journeys(emulator: Emulator, people: list[tuple[int, str]]) -> Iterator[Journey]:
    """Each person walks the registration steps, stops at the invoice with /cancel, and again."""
    for uid, serial in people:
        person = Person(emulator, uid, f"Reg{uid}")
        cancel = Step(lambda p=person: p.send("/cancel"), "Stopped")
        yield person, itertools.cycle([*register_steps(person, serial), cancel])


def mixed_journeys(emulator: Emulator, people: list[MixedPerson]) -> Iterator[Journey]:
    """A whole registration with an invoice photo, then a redemption with an S/N photo."""
    for who in people:
        person = Person(emulator, who.user_id, f"Mix{who.user_id}")
        steps = [
            *register_steps(person, who.new_serial),
            Step(lambda p=person, w=who: p.send_photo(w.invoice), "invoice number"),
            Step(lambda p=person, w=who: p.send(f"INV-{w.new_serial}"), "Please check"),
            Step(lambda p=person: p.press("✅ Confirm"), "is registered"),
            Step(lambda p=person: p.send("/redeem"), "Tick the products"),
            Step(crash_run._tick_product(person), "✅ "),
            Step(lambda p=person: p.press("➡️ Next"), "on the product itself"),
            Step(lambda p=person, w=who: p.send_photo(w.sn_photo), "lucky draw"),
            Step(lambda p=person: p.press("Yes"), "Please check your redemption"),
            Step(lambda p=person: p.press("✅ Redeem"), "Order ID"),
        ]
        yield person, iter(steps)


@dataclass
class MixedPerson:
    user_id: int
    owned_serial: str  # registered by the seed, redeemed in the flow
    new_serial: str  # registered in the flow
    invoice: bytes
    sn_photo: bytes


@dataclass
class Cast:
    mixed: list[MixedPerson]
    registering: list[tuple[int, str]]


async def seed(args: Args, url: str, media_dir: Path, mixed: int, registering: int) -> Cast:
    """The database, seeded by the measured tree's own code (bench/seed_db.py in a child), so
    its schema and migrations are the ones that bot expects; the photos are made here."""
    owners = json.loads(await in_tree(args, "seed", url, str(media_dir), str(mixed), str(registering)))
    return Cast(
        mixed=[
            MixedPerson(
                uid,
                serial,
                f"BA9H8{index:08d}",
                invoice_jpeg(text=f"INVOICE INV-BA9H8{index:08d} PRO MP241"),
                invoice_jpeg(text=f"S/N {serial}"),
            )
            for index, (uid, serial) in enumerate(owners["mixed"])
        ],
        registering=[(uid, serial) for uid, serial in owners["registering"]],
    )


async def in_tree(args: Args, *argv: str) -> str:
    """Runs bench/seed_db.py with the measured tree's code; returns its stdout."""
    env = {**os.environ, "PYTHONPATH": str(args.code_tree), "BENCH_CODE_ROOT": str(args.code_tree)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bench" / "seed_db.py"),
        *argv,
        cwd=args.code_tree,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"seed_db.py {argv[0]} failed:\n{err.decode(errors='replace')[-3000:]}")
    return out.decode()


# -- runs --------------------------------------------------------------------------------------
@dataclass
class Args:
    quick: bool
    postgres: str | None
    sqlite: bool
    rates: list[float]
    updates: int
    warmup: int
    people: int
    code_tree: Path
    other_trees: list[Path]  # measured in the same run after code_tree (e.g. the commit before a change)
    sqlite_drivers: list[str]
    out: Path
    references: bool
    profile: str | None
    summarize: Path | None


@contextlib.asynccontextmanager
async def fresh_emulator(token: str) -> AsyncIterator[Emulator]:
    emulator = Emulator(token=token, port=0)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


async def run_reference(kind: str, args: Args, tmp: Path) -> tuple[Idle, list[Measure]]:
    token = crash_run.TOKEN
    async with fresh_emulator(token) as emulator:
        child = Child(
            [sys.executable, str(ROOT / "bench" / "ref_bots.py"), kind, token, emulator.api_base_url],
            dict(os.environ),
            args.code_tree,
            tmp / f"ref-{kind}.log",
        )
        await polling(emulator, child)
        try:
            rest = await idle(child, 4.0)  # CPU ticks are 10 ms: 4 s resolve 2.5 ms/s
            print(f"{REF_NAMES[kind]}: idle RSS {rest.rss_mb} MB, idle CPU {rest.cpu_ms_per_s} ms/s", flush=True)
            label = (REF_NAMES[kind], "-", "/help")
            return rest, await measure(label, child.pid, help_journeys(emulator, 100_000, True), args.rates, args)
        finally:
            await child.stop()


@dataclass
class BotRun:
    database: str
    idle: Idle
    restarted: Idle  # after the load, restarted: the baseline for the next
    idle_with_conversations: Idle  # restarted again with IDLE_CONVERSATIONS rows seeded
    measures: list[Measure]


@contextlib.asynccontextmanager
async def spying(pid: int, output: Path | None) -> AsyncIterator[None]:
    """py-spy records `pid` while inside (when `output` is given); it must be in .venv or PATH."""
    if output is None:
        yield
        return
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    argv = [exe, "record", "--pid", str(pid), "--format", "raw", "--output", str(output), "--rate", "200"]
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # pausing: idle seen right
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        await asyncio.to_thread(spy.wait)


profiles: dict[str, dict[str, float]] = {}
UPLOADS = "mixed + 12 MP uploads"  # the p99 target: 100/s of the mixed flow while one customer uploads


@contextlib.asynccontextmanager
async def uploading(person: Person | None) -> AsyncIterator[None]:
    """While inside, `person` sends bench/upload.py's 12 MP label photo (as a file, so Telegram
    would not shrink it) at the serial step, again and again; the bot reads it each time. Its
    CPU counts in the row's per-update cost, which is why only the latency of that row matters."""
    if person is None:
        yield
        return
    from bench.upload import label_photo

    photo = await asyncio.to_thread(label_photo)

    async def keep_sending() -> None:
        await person.send("/register")
        await answer(person, "Which kind of product")
        await person.press("Monitor")
        await answer(person, "serial number")
        while True:
            await person.send_document(photo, "label.jpg", "image/jpeg")
            await person.next_reply(timeout=60)

    task = asyncio.create_task(keep_sending())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, AssertionError):
            await task


async def run_bot(database: str, url: str, args: Args, tmp: Path) -> BotRun:
    work = tmp / "".join(c if c.isalnum() else "-" for c in database)
    work.mkdir()
    per_rate = args.warmup + args.updates
    rounds = len(args.rates) + (0 if args.quick else 1)  # the uploads scenario: one more rate of the mixed flow
    mixed_people = math.ceil(rounds * per_rate / 18) + 2 * args.people + 20  # 18 updates per flow
    cast = await seed(args, url, work / "media", mixed_people, args.people + 1)  # + the uploader
    async with fresh_emulator(crash_run.TOKEN) as emulator:
        emulator.add_user(crash_run.STAFF_ID, "Sam", username="sam_staff")
        emulator.add_group(crash_run.STAFF_CHAT_ID, "Redemption staff", [crash_run.STAFF_ID])
        env = {**crash_run.bot_env(emulator, url, work / "media"), **BOT_OVERRIDES}
        child = Child([sys.executable, "-m", "bot", "run"], env, args.code_tree, work / "bot.log")
        await polling(emulator, child)
        measures: list[Measure] = []
        try:
            rest = await idle(child, 4.0)  # CPU ticks are 10 ms: 4 s resolve 2.5 ms/s
            print(f"this bot, {database}: idle RSS {rest.rss_mb} MB, idle CPU {rest.cpu_ms_per_s} ms/s", flush=True)
            name = f"this bot, {database}"
            mixed = mixed_journeys(emulator, cast.mixed)  # the uploads scenario goes on with the next people
            uploader = Person(emulator, cast.registering[-1][0], "Uploader")
            for scenario, journeys, rates in (
                ("/help", help_journeys(emulator, 60_000, False), args.rates),
                ("registration steps", registration_journeys(emulator, cast.registering[:-1]), args.rates),
                ("mixed full flow", mixed, args.rates),
                (UPLOADS, mixed, [] if args.quick else [100.0]),
            ):
                if (args.profile and args.profile != scenario) or not rates:
                    continue
                spy = Path(tempfile.gettempdir()) / f"bench-py-spy-{work.name}.txt" if args.profile else None  # kept
                async with spying(child.pid, spy), uploading(uploader if scenario == UPLOADS else None):
                    measures += await measure((name, database, scenario), child.pid, journeys, rates, args)
                if spy is not None and spy.exists():
                    profile = shares(spy.read_text())
                    print(f"py-spy, {name}, {scenario}:", flush=True)
                    for area, share in profile.items():
                        print(f"  {share:5.1f} %  {area}")
                    profiles[f"{name}, {scenario}"] = profile
        finally:
            await child.stop()
        restarts: list[Idle] = []
        for seeding in (False, True):  # the same database as it is after the load, then with the conversations
            if seeding:
                await in_tree(args, "idle", url, str(IDLE_CONVERSATIONS))
            await polling(emulator, child)
            try:
                restarts.append(await idle(child, 2.0))
            finally:
                await child.stop()
    print(
        f"this bot, {database}: RSS restarted {restarts[0].rss_mb} MB, "
        f"with {IDLE_CONVERSATIONS:,} idle conversations {restarts[1].rss_mb} MB",
        flush=True,
    )
    return BotRun(database, rest, restarts[0], restarts[1], measures)


REF_NAMES = {
    "raw": "raw aiohttp loop, no PTB",
    "aiohttp": "PTB echo, aiohttp transport",
    "httpx": "PTB echo, httpx (reference)",
}


def _row(m: Measure) -> str:
    return (
        f"  {m.process:<30} {m.scenario:<22} {m.offered_per_s:>5.0f}/s → {m.achieved_per_s:>6.1f}/s  "
        f"p50 {m.p50_ms:>7.1f} ms  p99 {m.p99_ms:>7.1f} ms  CPU {m.cpu_ms_per_update:>6.2f} ms/update  "
        f"fail {m.failures}  loadgen {m.loadgen_cpu_pct:.0f}%  load {m.load_average:.1f}"
    )


ECHO = REF_NAMES["httpx"]


def summary(measures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per process, scenario and offered rate: CPU ms per update and the httpx echo's ÷ this
    (at the same rate; higher is cheaper). Built from the measures, so a results file can be
    summarised again (`--summarize FILE`)."""
    echo = {m["offered_per_s"]: m["cpu_ms_per_update"] for m in measures if m["process"] == ECHO}
    rows = []
    for m in measures:
        reference = echo.get(m["offered_per_s"])
        ratio = round(reference / m["cpu_ms_per_update"], 2) if reference and m["cpu_ms_per_update"] else None
        rows.append(
            {
                "process": m["process"],
                "scenario": m["scenario"],
                "offered_per_s": m["offered_per_s"],
                "cpu_ms": m["cpu_ms_per_update"],
                "echo_over_this": ratio,
            }
        )
    return rows


def print_summary(rows: list[dict[str, Any]]) -> None:
    rates = sorted({row["offered_per_s"] for row in rows})
    print("\nCPU ms per update (echo ÷ this at the same offered rate: higher is cheaper).")
    print("Targets: mixed full flow ≥ 1.0, /help ≥ 2.0 (i.e. ≤ 0.5× of the httpx echo's cost).")
    print(f"  {'process':<30} {'scenario':<20}" + "".join(f"{f'{r:.0f}/s':>18}" for r in rates))
    for key in dict.fromkeys((row["process"], row["scenario"]) for row in rows):
        cells = []
        for rate in rates:
            row = next((r for r in rows if (r["process"], r["scenario"], r["offered_per_s"]) == (*key, rate)), None)
            ratio = row and row["echo_over_this"]
            cells.append(f"{row['cpu_ms']:>8.2f} ({ratio:.2f}×)" if row and ratio else f"{'-':>16}  ")
        print(f"  {key[0]:<30} {key[1]:<20}" + "".join(f"{c:>18}" for c in cells))


def markdown(results: dict[str, Any]) -> str:
    """The README's tables of one results file."""
    measures = results["measures"]
    rates = sorted({m["offered_per_s"] for m in measures})
    keys = list(dict.fromkeys((m["process"], m["scenario"]) for m in measures))
    at = {(m["process"], m["scenario"], m["offered_per_s"]): m for m in measures}
    ratios = {(r["process"], r["scenario"], r["offered_per_s"]): r["echo_over_this"] for r in summary(measures)}
    head = "| process | scenario | " + " | ".join(f"{r:.0f}/s" for r in rates) + " |"
    rule = "| --- | --- |" + " ---: |" * len(rates)
    cpu, latency = [head, rule], [head, rule]
    for key in keys:
        cells, waits = [], []
        for rate in rates:
            m = at.get((*key, rate))
            ratio = ratios.get((*key, rate))
            cells.append(f"{m['cpu_ms_per_update']:.2f} ms ({ratio:.2f}×)" if m and ratio else "")
            waits.append(f"{m['achieved_per_s']:.0f}/s · {m['p50_ms']:.0f} · {m['p99_ms']:.0f} ms" if m else "")
        cpu.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
        latency.append(f"| {key[0]} | {key[1]} | " + " | ".join(waits) + " |")
    idle = ["| process | idle RSS | idle CPU |", "| --- | ---: | ---: |"]
    for name, rest in results["idle"].items():
        extra = rest.get(f"rss_mb_restarted_with_{IDLE_CONVERSATIONS}_idle_conversations") or rest.get(
            f"rss_mb_with_{IDLE_CONVERSATIONS}_idle_conversations"
        )
        base = rest.get("rss_mb_restarted_after_load")
        note = f"; restarted after the load {base} MB" if base else ""
        base = base or rest["rss_mb"]
        if extra:
            note += f", and with {IDLE_CONVERSATIONS:,} idle conversations {extra} MB ({extra - base:+.1f})"
        idle.append(f"| {name} | {rest['rss_mb']} MB{note} | {rest['cpu_ms_per_s']} ms/s |")
    return "\n".join(
        [
            "CPU per update of the process (echo ÷ this, at the same offered rate):",
            "",
            *cpu,
            "",
            "Achieved rate · p50 · p99 latency at each offered rate:",
            "",
            *latency,
            "",
            *idle,
        ]
    )


def print_idle(references: dict[str, Idle], bots: list[BotRun]) -> None:
    print("\nIdle RSS (MB), after start, before load:")
    for kind, rest in references.items():
        print(f"  {REF_NAMES[kind]:<30} {rest.rss_mb:>7.1f}   idle CPU {rest.cpu_ms_per_s} ms/s")
    for run in bots:
        grown = run.idle_with_conversations.rss_mb - run.restarted.rss_mb
        print(
            f"  {'this bot, ' + run.database:<30} {run.idle.rss_mb:>7.1f}   idle CPU {run.idle.cpu_ms_per_s} ms/s; "
            f"restarted after the load {run.restarted.rss_mb} MB, and with {IDLE_CONVERSATIONS:,} idle "
            f"conversations {run.idle_with_conversations.rss_mb} MB ({grown:+.1f} MB)"
        )


def code_version(tree: Path) -> dict[str, Any]:
    """The commit measured and whether the bot's code differed from it (others edit as we run)."""

    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=tree, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    marker = tree / "COMMIT"  # written next to a `git archive` export, which is no repository
    commit = marker.read_text().strip() if marker.exists() else git("rev-parse", "HEAD")
    dirty = [line[3:] for line in git("status", "--porcelain").splitlines() if not line[3:].startswith("bench/")]
    return {"tree": str(tree), "commit": commit, "uncommitted_outside_bench": dirty}


async def run(args: Args) -> dict[str, Any]:
    started = time.perf_counter()
    references: dict[str, list[Measure]] = {}
    reference_idle: dict[str, Idle] = {}
    bots: list[BotRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as tmp_name:
        tmp = Path(tmp_name)
        if args.references:
            for kind in ("raw", "aiohttp", "httpx"):
                reference_idle[kind], references[kind] = await run_reference(kind, args, tmp)
        trees = [args.code_tree, *args.other_trees]
        for tree in trees:
            targs = replace(args, code_tree=tree)
            at = f" @{code_version(tree)['commit'][:7]}" if len(trees) > 1 else ""
            for driver in args.sqlite_drivers if args.sqlite else []:
                label = ("SQLite" if len(args.sqlite_drivers) == 1 else f"SQLite {driver}") + at
                database = f"bench-{driver}{at.strip(' @')}.db"
                bots.append(await run_bot(label, f"sqlite+{driver}:///{tmp / database}", targs, tmp))
            if args.postgres:
                url, name = await create_database(args.postgres)
                try:
                    bots.append(await run_bot("PostgreSQL" + at, url, targs, tmp))
                finally:
                    await drop_database(args.postgres, name)
    measures = [asdict(m) for ms in [*references.values(), *(b.measures for b in bots)] for m in ms]
    rows = summary(measures)
    print_summary(rows)
    print_idle(reference_idle, bots)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code_version(args.code_tree),
        "other_code": [code_version(tree) for tree in args.other_trees],
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_end": os.getloadavg(),  # others' work on a shared machine shows here
        },
        "settings": {
            "rates": args.rates,
            "updates_per_rate": args.updates,
            "warmup_per_rate": args.warmup,
            "people": args.people,
            "bot_overrides": BOT_OVERRIDES,
        },
        "summary": rows,
        "idle": {REF_NAMES[k]: asdict(v) for k, v in reference_idle.items()}
        | {
            f"this bot, {b.database}": asdict(b.idle)
            | {
                "rss_mb_restarted_after_load": b.restarted.rss_mb,
                f"rss_mb_restarted_with_{IDLE_CONVERSATIONS}_idle_conversations": b.idle_with_conversations.rss_mb,
            }
            for b in bots
        },
        "measures": measures,
        "profiles": profiles,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one rate, few updates: a one-minute smoke run")
    parser.add_argument("--postgres", metavar="URL", help="also run on a fresh database on this server")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--no-references", action="store_true", help="skip the echo bots and the raw loop")
    parser.add_argument("--rates", type=float, nargs="+", help="offered updates per second (50 100 200)")
    parser.add_argument("--updates", type=int, help="timed updates per rate (1000; quick: 200)")
    parser.add_argument("--warmup", type=int, help="untimed updates before each rate (100; quick: 40)")
    parser.add_argument("--people", type=int, help="simulated people in parallel (100; quick: 50)")
    parser.add_argument("--summarize", type=Path, metavar="FILE", help="only reprint the summary of a results file")
    parser.add_argument("--profile", metavar="SCENARIO", help="only this bot scenario, recorded with py-spy")
    parser.add_argument("--code-tree", type=Path, default=ROOT, help="checkout whose bot is measured")
    parser.add_argument(
        "--also-tree",
        type=Path,
        nargs="+",
        default=[],
        metavar="DIR",
        help="more checkouts whose bot is measured in the same run, after --code-tree (before/after a change)",
    )
    parser.add_argument(
        "--sqlite-drivers",
        nargs="+",
        default=["aiosqlite"],
        metavar="DRIVER",
        help="one bot run each, in this order: aiosqlite (what the tree's storage/db.py serves it on), "
        "onloop, aiosqlite_stock (storage/sqlite_driver.py)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file ({RESULTS.relative_to(ROOT)})")
    ns = parser.parse_args(argv)
    quick = bool(ns.quick)
    return Args(
        quick=quick,
        postgres=ns.postgres,
        sqlite=not ns.no_sqlite,
        rates=ns.rates or ([100.0] if quick else [50.0, 100.0, 200.0]),
        updates=ns.updates or (200 if quick else 1000),
        warmup=ns.warmup or (40 if quick else 100),
        people=ns.people or (50 if quick else 100),
        code_tree=ns.code_tree.resolve(),
        other_trees=[tree.resolve() for tree in ns.also_tree],
        sqlite_drivers=ns.sqlite_drivers,
        out=ns.out,
        references=not ns.no_references,
        profile=ns.profile,
        summarize=ns.summarize,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.summarize is not None:
        results = json.loads(args.summarize.read_text())
        results["summary"] = summary(results["measures"])
        print_summary(results["summary"])
        print("\n" + markdown(results))
        args.summarize.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        return 0
    results = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {args.out} in {results['wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
