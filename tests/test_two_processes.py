"""The scale path: two bot processes in webhook mode behind a round-robin load balancer, one
PostgreSQL database. Steps are neither lost nor misordered, no announcement goes out twice, and
the outbox's rate holds for both processes together (measured at arrival in the emulator)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot.runtime import BotRuntime
from emulator import Emulator
from storage import outbox
from storage.clock import FakeClock
from storage.db import unit_of_work
from storage.models import Claim, Lease, OutboxMessage
from tests.conftest import STAFF_CHAT_ID, STAFF_ID, make_settings
from tests.crash_run import outbox_settled, redeem, seed, wait_for
from tests.factories import free_port
from tests.harness import Person
from tests.staff_tools_support import open_chat

SECRET = "two-workers-secret"
RATE = 8.0


async def _balancer(ports: list[int]) -> tuple[web.AppRunner, int, Counter[int]]:
    """A load balancer: each POST goes to the next worker in turn, its answer passed back."""
    turn = itertools.cycle(ports)
    served: Counter[int] = Counter()
    client = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        port = next(turn)
        served[port] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-telegram")}
        async with client.post(
            f"http://127.0.0.1:{port}/telegram",
            data=await request.read(),
            headers=headers | {"Content-Type": "application/json"},
        ) as answer:
            return web.Response(status=answer.status, body=await answer.read(), content_type="application/json")

    app = web.Application()
    app.router.add_post("/telegram", forward)
    app.on_cleanup.append(lambda _app: client.close())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(runner.addresses[0][1]), served


@pytest.fixture
async def workers(
    emulator: Emulator, db_url: str, tmp_path: Path
) -> AsyncIterator[tuple[list[BotRuntime], Counter[int]]]:
    if not db_url.startswith("postgresql"):
        pytest.skip("several bot processes share one PostgreSQL database (SQLite is the one-process default)")
    ports = [free_port(), free_port()]
    runner, lb_port, served = await _balancer(ports)
    runtimes = []
    for port in ports:
        settings = make_settings(
            emulator,
            db_url,
            tmp_path,
            webhook_listen=f"127.0.0.1:{port}",
            webhook_public_url=f"http://127.0.0.1:{lb_port}/telegram",
            webhook_secret=SECRET,
            outbox_rate_per_second=RATE,
            outbox_poll_seconds=0.05,
        )
        runtime = BotRuntime(settings, clock=FakeClock(), timed_jobs=False)
        await runtime.start("webhook")
        runtimes.append(runtime)
    try:
        yield runtimes, served
    finally:
        for runtime in runtimes:
            await runtime.stop()
        await runner.cleanup()


async def test_two_workers_keep_every_step_in_order_and_send_each_card_once(
    workers: tuple[list[BotRuntime], Counter[int]], emulator: Emulator, db_url: str, tmp_path: Path
) -> None:
    runtimes, served = workers
    people_serials = await seed(db_url, tmp_path / "media", 3)
    people = [(Person(emulator, user_id, f"Customer{user_id}"), serial) for user_id, serial in people_serials]
    for person, serial in people:
        await redeem(person, serial)  # each step answered in order, though its updates alternate between workers
    assert served and all(count > 5 for count in served.values()), served
    assert runtimes[0].services is not None
    sessions = runtimes[0].services.sessions
    async with unit_of_work(sessions) as session:
        order_ids = list((await session.scalars(select(Claim.order_id))).all())
    assert len(order_ids) == 3
    staff = Person(emulator, STAFF_ID, "Sam", chat_id=STAFF_CHAT_ID)
    seen: Counter[str] = Counter()
    while sum(seen.values()) < 3:
        card = await staff.next_reply()
        seen.update(o for o in order_ids if f"Claim {o} · attempt" in card.text)
    await wait_for(lambda: outbox_settled(sessions), emulator)  # every row settled, none left SENDING
    texts = [str(m.get("text") or "") for m in emulator.messages(STAFF_CHAT_ID) if m["from"]["is_bot"]]
    assert all(sum(1 for t in texts if f"Claim {o} · attempt" in t) == 1 for o in order_ids), texts


async def test_the_outbox_rate_holds_for_both_workers_together(
    workers: tuple[list[BotRuntime], Counter[int]], emulator: Emulator
) -> None:
    runtimes, _ = workers
    services = runtimes[0].services
    assert services is not None
    chats = list(range(30_000, 30_032))
    for chat_id in chats:
        open_chat(emulator, chat_id, f"User{chat_id}")
    async with unit_of_work(services.sessions) as session:
        for chat_id in chats:
            await outbox.enqueue(
                session,
                chat_id=chat_id,
                kind="test",
                key="status.landing",
                language="en",
                values={"url": f"m{chat_id}"},
                now=services.clock.now(),
            )
    await emulator.state.event_notifier.wait_for(
        lambda: True if sum(1 for _, _, c in emulator.send_log if c in chats) >= len(chats) else None, 30
    )
    times = sorted(t for t, _, c in emulator.send_log if c in chats)
    assert Counter(c for _, _, c in emulator.send_log if c in chats) == Counter(chats)  # each once
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= RATE + 1, busiest  # within the configured rate, not twice it
    assert (times[-1] - times[0]) >= (len(chats) - 1) / RATE * 0.9
    async with unit_of_work(services.sessions) as session:
        lease = await session.get(Lease, "outbox")
        senders = set(
            (await session.scalars(select(OutboxMessage.claimed_by).where(OutboxMessage.chat_id.in_(chats)))).all()
        )
    assert lease is not None and lease.owner is not None and senders == {lease.owner}
