"""A scripted run of customers and staff against a real bot process that is killed and restarted.

Used by tests/test_crash_recovery.py (a few dozen kills, in CI) and bench/crash.py (longer, with
numbers for the README). The emulator runs in this process; the bot is `python -m bot run` in a
subprocess, SIGKILLed at chosen moments (a hook sees every Bot API call before and after it takes
effect) and started again. Afterwards `Report` counts what the people saw and what the database
holds: every review card and every decision delivered, duplicates only of what was in flight.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from emulator import Emulator
from storage.db import create_engine, make_session_factory, unit_of_work
from storage.demo import DEMO_CHK_SECRET, load_demo_data
from storage.models import (
    ActivationCode,
    CatalogueProduct,
    CatalogueSerial,
    Claim,
    ClaimStatus,
    ConversationState,
    OutboxMessage,
    OutboxStatus,
    Promotion,
    RegisteredProduct,
)
from tests.factories import invoice_jpeg, new_member
from tests.harness import Person

TOKEN = "123456:CRASH-TEST"
STAFF_ID = 9001
STAFF_CHAT_ID = -100900
ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT = 20.0  # a restart takes a second or two; a person waits this long before trying again
REPEATS: Counter[str] = Counter()  # steps a person did again after getting no answer (or the same question)
Trigger = Callable[[str, dict[str, Any], bool], bool]


def _chat(params: dict[str, Any]) -> int:
    try:
        return int(params.get("chat_id") or 0)
    except (TypeError, ValueError):
        return 0


def mid_album(method: str, params: dict[str, Any], delivered: bool) -> bool:
    """A review card's album reached the staff group; the bot never hears back."""
    return delivered and method == "sendMediaGroup" and _chat(params) == STAFF_CHAT_ID


def mid_card(method: str, params: dict[str, Any], delivered: bool) -> bool:
    """A review card's text reached the staff group; the bot never hears back."""
    return (
        delivered
        and method == "sendMessage"
        and _chat(params) == STAFF_CHAT_ID
        and "· attempt" in str(params.get("text", ""))
    )


def mid_decision(method: str, params: dict[str, Any], delivered: bool) -> bool:
    """An approval with its code reached the customer; the bot never hears back."""
    return delivered and method == "sendMessage" and _chat(params) > 0 and "AAAAA-" in str(params.get("text", ""))


def before_reply(method: str, params: dict[str, Any], delivered: bool) -> bool:
    """A step was committed and its reply is on the way: the bot dies before it arrives."""
    return (
        not delivered
        and method in ("sendMessage", "sendPhoto", "sendMediaGroup", "editMessageText")
        and _chat(params) > 0
    )


def before_staff_reply(method: str, params: dict[str, Any], delivered: bool) -> bool:
    """A staff decision was committed and the card's edit is on the way: the bot dies first."""
    return not delivered and method == "editMessageText" and _chat(params) == STAFF_CHAT_ID


def after_reply(method: str, params: dict[str, Any], delivered: bool) -> bool:
    """A customer's reply arrived; the bot dies before the customer's next step."""
    return (
        delivered
        and method in ("sendMessage", "editMessageText")
        and _chat(params) > 0
        and "reply_markup" in params
        and "Order ID" not in str(params.get("text", ""))
    )


def every_nth(n: int) -> Trigger:
    """A random moment: the n-th Bot API call from now (getUpdates aside)."""
    seen = 0

    def trigger(method: str, _params: dict[str, Any], delivered: bool) -> bool:
        nonlocal seen
        if method in ("getUpdates", "getMe") or not delivered:
            return False
        seen += 1
        return seen >= n

    return trigger


@dataclass
class BotProcess:
    """`python -m bot run` as an operator starts it, with its output kept in a log file."""

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts} ---\n".encode())
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    async def wait(self) -> int:
        assert self.proc is not None
        return await asyncio.to_thread(self.proc.wait)

    async def terminate(self) -> int:
        """SIGTERM, as a deploy does; the process must exit by itself."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.wait(), 60)


@dataclass
class Killer:
    """Kills the bot at each trigger in turn and starts it again."""

    emulator: Emulator
    process: BotProcess
    triggers: list[Trigger]
    kills: list[str] = field(default_factory=list)
    armed: bool = True
    _restarting: asyncio.Task[None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.emulator.on_call(self._on_call)

    def _on_call(self, method: str, params: dict[str, Any], delivered: bool) -> bool:
        if method == "getUpdates" and not delivered:
            self._ready.set()
        if not self.armed or not self.triggers or self._restarting is not None:
            return False
        trigger = self.triggers[0]
        if not trigger(method, params, delivered):
            return False
        self.triggers.pop(0)
        self.kills.append(f"{getattr(trigger, '__name__', 'random')}:{method}")
        self.process.kill()
        self._restarting = asyncio.ensure_future(self._restart())
        return not delivered  # dropped: it never reached Telegram

    async def _restart(self) -> None:
        await self.process.wait()
        await self.start_again()
        self._restarting = None

    async def start_again(self) -> None:
        """Starts the stopped bot and returns once it polls again."""
        self._ready.clear()
        self.process.start()
        await self.ready()

    async def ready(self, timeout: float = 60) -> None:
        """The bot polls for updates again."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def settled(self) -> None:
        while self._restarting is not None:
            await asyncio.shield(self._restarting)


@dataclass
class Report:
    kills: int
    customers: int
    claims: int
    cards_missing: int
    card_duplicates: int
    decisions_missing: int
    decision_duplicates: int
    outbox_unsettled: int
    claims_not_approved: int
    journeys_unfinished: int
    codes_used: int
    steps_repeated: int

    @property
    def duplicates(self) -> int:
        return self.card_duplicates + self.decision_duplicates

    def lines(self) -> list[str]:
        return [f"{name}: {value}" for name, value in vars(self).items()]


async def seed(database_url: str, media_dir: Path, customers: int) -> list[tuple[int, str]]:
    """Demo data, codes, and customers each owning one eligible monitor with a stored invoice."""
    from storage import codes
    from storage.media import MediaStore

    engine = create_engine(database_url)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    media = MediaStore(media_dir)
    people: list[tuple[int, str]] = []
    async with unit_of_work(sessions) as session:
        await load_demo_data(session)
        promotion = await session.scalar(select(Promotion).where(Promotion.slug == "spring-2026"))
        assert promotion is not None
        await codes.import_codes(
            session, promotion, "\n".join(f"AAAAA-BBBBB-{i:05d}" for i in range(customers + 5)), now
        )
        model = await session.scalar(select(CatalogueProduct).where(CatalogueProduct.model == "9S6-3PA2CT-038"))
        assert model is not None
        for index in range(customers):
            user_id = 20_000 + index
            serial = f"BA9H9{index:08d}"
            session.add(CatalogueSerial(product_id=model.id, serial=serial, chk="123"))
            member = new_member(user_id, email=f"c{index}@example.com", now=now)
            session.add(member)
            await session.flush()
            stored = media.save(invoice_jpeg(text=f"INVOICE {serial}"))
            session.add(
                RegisteredProduct(
                    member_id=member.id,
                    catalogue_product_id=model.id,
                    serial=serial,
                    purchase_country="SG",
                    store_name="Courts",
                    purchase_date=date(2026, 3, 3),
                    channel="retail",
                    invoice_path=stored.relative_path,
                    invoice_sha256=stored.sha256,
                    registered_at=now,
                )
            )
            people.append((user_id, serial))
    await engine.dispose()
    return people


def bot_env(emulator: Emulator, database_url: str, media_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "DATABASE_", "OUTBOX_", "STAFF_", "ADMIN_", "SMTP_", "EMAIL_"))
    }
    env.update(
        BOT_TOKEN=TOKEN,
        BOT_API_BASE_URL=emulator.api_base_url,
        BOT_API_FILE_URL=emulator.file_base_url,
        DATABASE_URL=database_url,
        MEDIA_DIR=str(media_dir),
        STAFF_USER_IDS=str(STAFF_ID),
        ADMIN_USER_IDS=str(STAFF_ID),
        STAFF_CHAT_ID=str(STAFF_CHAT_ID),
        CHK_SECRET=DEMO_CHK_SECRET,
        OUTBOX_CHAT_INTERVAL_SECONDS="0.05",
        OUTBOX_GROUP_INTERVAL_SECONDS="0.05",
        OUTBOX_RATE_PER_SECOND="200",
        OUTBOX_POLL_SECONDS="0.1",
        LOW_CODES_WARNING="0",
        EMAIL_VERIFICATION="off",  # these runs are about crashes; e-mail is tested in test_email_*.py
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


async def _step(
    person: Person, action: Callable[[], Awaitable[None]], want: str, asked: str | None, done: str | None = None
) -> None:
    """Does `action` until the bot answers with `want` (in the text or on a button), as a person
    who got no answer (or the same question again, after a restart) tries once more."""
    for attempt in range(5):
        if attempt:
            REPEATS[person.first_name] += 1
        await action()
        while True:
            try:
                reply = await person.next_reply(STEP_TIMEOUT)
            except AssertionError:
                break  # no answer: try again
            if (
                want in reply.text
                or any(want in label for label in reply.buttons)
                or (done is not None and done in reply.text)
            ):
                return
            if asked is not None and asked in reply.text:
                break  # asked again: the answer did not take
    seen = [
        (
            m["message_id"],
            m.get("edit_date"),
            m.get("text", "")[:20],
            [
                b["text"][:3] + b.get("callback_data", "")[:14]
                for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            ][:2],
        )
        for m in person.emulator.messages(person.chat_id)[-8:]
    ]
    raise AssertionError(f"{person.first_name} never got {want!r}; the chat ends with {seen}")


def _tick_product(person: Person) -> Callable[[], Awaitable[None]]:
    """Ticks the product on the newest list, unless it is ticked already (a second press unticks)."""

    async def press() -> None:
        for message in reversed([m for m in person.emulator.messages(person.chat_id) if m["from"]["is_bot"]]):
            buttons = [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
            if any(b["text"].startswith("✅ ") for b in buttons):
                await person.emulator.user_presses(
                    person.user_id,
                    message["message_id"],
                    next(b for b in buttons if b["text"] == "➡️ Next")["callback_data"],
                    chat_id=person.chat_id,
                )
                return
            for button in buttons:
                if button["text"].startswith("▫️"):
                    await person.emulator.user_presses(
                        person.user_id, message["message_id"], button["callback_data"], chat_id=person.chat_id
                    )
                    return
        raise AssertionError("no product list")

    return press


async def redeem(person: Person, serial: str) -> None:
    """The redeem journey of the guide: product, S/N photo, lucky draw, confirm."""
    photo = invoice_jpeg(text=f"S/N {serial}")
    await _step(person, lambda: person.send("/redeem"), "Tick the products", None)
    await _step(person, _tick_product(person), "✅ ", "Tick the products")
    await _step(person, lambda: person.press("➡️ Next"), "on the product itself", "Tick the products")
    await _step(person, lambda: person.send_photo(photo), "lucky draw", "on the product itself")
    await _step(person, lambda: person.press("Yes"), "Please check your redemption", "lucky draw")
    await _step(
        person,
        lambda: person.press("✅ Redeem"),
        "Order ID",
        "Please check your redemption",
        done="/status shows your redemptions",
    )
    if not any("Order ID" in str(m.get("text") or "") for m in person.emulator.messages(person.chat_id)):
        await _step(
            person, lambda: person.send("/status"), "Productivity From Spring", None
        )  # the answer was lost with the process


async def approve_all(emulator: Emulator, staff: Person, sessions: Any, order_ids: set[str]) -> None:
    """Staff approve each card as it arrives; a press that got no answer is pressed again."""
    deadline = asyncio.get_running_loop().time() + 60 + 10 * len(order_ids)
    while (approved := await _approved(sessions)) != order_ids:
        assert asyncio.get_running_loop().time() < deadline, f"cards never came for {order_ids - approved}"
        for message in emulator.messages(STAFF_CHAT_ID):
            text = str(message.get("text") or "")
            buttons = [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
            approve = next((b for b in buttons if b["text"] == "✅ Approve"), None)
            if approve is not None and any(f"Claim {o} · attempt" in text for o in order_ids - approved):
                await emulator.user_presses(
                    STAFF_ID, message["message_id"], approve["callback_data"], chat_id=STAFF_CHAT_ID
                )
        try:
            await staff.next_reply(5.0)
        except AssertionError:
            pass


async def _approved(sessions: Any) -> set[str]:
    async with unit_of_work(sessions) as session:
        return set((await session.scalars(select(Claim.order_id).where(Claim.status == ClaimStatus.APPROVED))).all())


async def wait_for(predicate: Callable[[], Awaitable[bool]], emulator: Emulator, timeout: float = 90) -> None:
    """Until `predicate` holds, re-checked on every emulator event (never a blind sleep)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await predicate():
        remaining = end - loop.time()
        if remaining <= 0:
            raise AssertionError("timed out waiting for the bot to settle")
        seq = emulator.last_seq
        try:
            await emulator.state.event_notifier.wait_for(
                lambda seen=seq: True if emulator.last_seq > seen else None, min(remaining, 2.0)
            )
        except TimeoutError:
            pass


@dataclass
class Plan:
    """When to kill, phase by phase: while customers type (one at a time, so a kill's effect on
    each step is checked), while the review cards drain (held back by a 429 from the staff group
    until the customers are done, so the drain phase has them all queued), while staff decide."""

    typing: list[Trigger] = field(default_factory=list)
    draining: list[Trigger] = field(default_factory=list)
    deciding: list[Trigger] = field(default_factory=list)
    sigterm_during_drain: bool = False


async def run(tmp: Path, database_url: str, *, customers: int, plan: Plan) -> Report:
    """The whole scripted run; returns what it counted. The bot is stopped at the end."""
    media_dir = tmp / "media"
    REPEATS.clear()
    people_serials = await seed(database_url, media_dir, customers)
    emulator = Emulator(token=TOKEN, port=0)
    await emulator.start()
    emulator.add_user(STAFF_ID, "Sam", username="sam_staff")
    emulator.add_group(STAFF_CHAT_ID, "Redemption staff", [STAFF_ID])
    process = BotProcess(bot_env(emulator, database_url, media_dir), tmp / "bot.log")
    killer = Killer(emulator, process, list(plan.typing))
    engine = create_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        emulator.fail(
            "sendMediaGroup",
            error_code=429,
            description="Too Many Requests: retry after 1",
            retry_after=1,
            chat_id=STAFF_CHAT_ID,
        )
        process.start()
        await killer.ready()
        staff = Person(emulator, STAFF_ID, "Sam", chat_id=STAFF_CHAT_ID)
        people = [(Person(emulator, user_id, f"Customer{user_id}"), serial) for user_id, serial in people_serials]
        for person, serial in people:
            await redeem(person, serial)
        await killer.settled()
        async with unit_of_work(sessions) as session:
            order_ids = set((await session.scalars(select(Claim.order_id))).all())
        killer.triggers = list(plan.draining)
        emulator.clear_faults()
        if plan.sigterm_during_drain:
            await _sigterm_once_cards_flow(emulator, process, killer)
        await wait_for(lambda: outbox_settled(sessions), emulator)
        await killer.settled()
        killer.triggers = list(plan.deciding)
        await approve_all(emulator, staff, sessions, order_ids)
        await wait_for(lambda: _settled(sessions), emulator)
        await killer.settled()
        return await _report(emulator, sessions, people, killer)
    finally:
        killer.armed = False
        await killer.settled()
        if process.proc is not None and process.proc.poll() is None:
            await process.terminate()
        await emulator.stop()
        await engine.dispose()


async def outbox_settled(sessions: Any) -> bool:
    async with unit_of_work(sessions) as session:
        unsettled = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        )
    return not unsettled


async def _sigterm_once_cards_flow(emulator: Emulator, process: BotProcess, killer: Killer) -> None:
    """A deploy: SIGTERM while the outbox drains the review cards, then a fresh start."""
    started = asyncio.Event()

    def first_card(method: str, params: dict[str, Any], delivered: bool) -> bool:
        if delivered and method == "sendMediaGroup" and _chat(params) == STAFF_CHAT_ID:
            started.set()
        return False

    emulator.on_call(first_card)
    await asyncio.wait_for(started.wait(), 60)
    await killer.settled()
    assert await process.terminate() == 0, "the bot did not exit cleanly on SIGTERM"
    await killer.start_again()


async def _settled(sessions: Any) -> bool:
    async with unit_of_work(sessions) as session:
        unsettled = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        )
        undecided = await session.scalar(
            select(func.count()).select_from(Claim).where(Claim.status != ClaimStatus.APPROVED)
        )
    return not unsettled and not undecided


async def _report(emulator: Emulator, sessions: Any, people: list[tuple[Person, str]], killer: Killer) -> Report:
    async with unit_of_work(sessions) as session:
        claims = list((await session.scalars(select(Claim))).all())
        unsettled = int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
            )
            or 0
        )
        codes_by_claim = {
            c.claim_id: c.code
            for c in (await session.scalars(select(ActivationCode).where(ActivationCode.claim_id.is_not(None)))).all()
        }
        journeys = int(await session.scalar(select(func.count()).select_from(ConversationState)) or 0)
    staff_texts = [str(m.get("text") or "") for m in emulator.messages(STAFF_CHAT_ID) if m["from"]["is_bot"]]
    cards = Counter(c.order_id for c in claims for text in staff_texts if f"Claim {c.order_id} · attempt" in text)
    decisions: Counter[str] = Counter()
    for claim in claims:
        code = codes_by_claim.get(claim.id)
        for person, _ in people:
            decisions[claim.order_id] += sum(
                1
                for m in emulator.messages(person.chat_id)
                if m["from"]["is_bot"] and code and code in str(m.get("text") or "")
            )
    return Report(
        kills=len(killer.kills),
        customers=len(people),
        claims=len(claims),
        cards_missing=sum(1 for c in claims if cards[c.order_id] == 0),
        card_duplicates=sum(max(0, n - 1) for n in cards.values()),
        decisions_missing=sum(1 for c in claims if decisions[c.order_id] == 0),
        decision_duplicates=sum(max(0, n - 1) for n in decisions.values()),
        outbox_unsettled=unsettled,
        claims_not_approved=sum(1 for c in claims if c.status != ClaimStatus.APPROVED),
        journeys_unfinished=journeys,
        codes_used=len(codes_by_claim),
        steps_repeated=sum(REPEATS[person.first_name] for person, _ in people),
    )
