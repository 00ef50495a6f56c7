"""Sends what the outbox holds: in order per chat, paced, at least once, honouring retry_after.

Each kind of message has a renderer (text, buttons, photos in the recipient's language);
the default renders a locale key. Chats are served side by side, each chat's messages in
order, one in flight per chat, on the beat of bot/pacing.py's metronome (OUTBOX_RATE_PER_SECOND,
evenly spaced, never more in a second), the next due heads fetched ahead. A message is marked
SENDING in a commit of its own right before its request and settled in the commit after it; a
crash in between leaves it SENDING and the next lease holder sends it again (a duplicate at
most, and only of what was in flight or among the LOOKAHEAD heads waiting for their beat; an
album that went out is remembered, so only its text is sent again). Only the holder of the
outbox lease sends, so the rate limits hold for all processes together. A message refused for
good runs the `after_failure` hooks in the transaction that marks it failed. This module alone
reads Telegram's refusals: one that means the chat can receive nothing (blocked, deactivated, never
started, unknown) is handed to `storage.delivery` as an `Unreachable` reason, which marks the
member and tells the staff chat, once. Buttons and values are queued abstract (an action and its
argument, a date, a list of lines) and turned into callback data and text here, at send time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import logging
import math
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.pacing import Pacer
from bot.services import Services
from locales.i18n import Raw, Translator, format_day, format_money
from storage import delivery, leases, outbox
from storage.db import unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BACKOFF = timedelta(minutes=10)
LOOKAHEAD = 2  # heads marked SENDING and waiting for their slot at most
MAX_NETWORK_ATTEMPTS = 30  # with the backoff capped at 10 minutes: about four hours of trying


@dataclass
class Rendered:
    text: str
    markup: InlineKeyboardMarkup | None = None
    photos: Sequence[bytes | str] = field(default_factory=list)  # bytes or file ids; first, as an album when several
    thread_id: int | None = None  # a forum topic of the chat (message_thread_id)
    caption: bool = False  # one photo with the text as its caption (and the markup), one message


@dataclass(frozen=True, order=True)
class Head:
    """A chat's next due message, fetched ahead of its slot; ordered by id (the oldest first)."""

    id: int
    chat_id: int = field(compare=False)
    kind: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class Refused:
    """A message Telegram will never take: why (the row's last error, for operators) and, when the
    chat itself can receive nothing any more, the domain reason storage records."""

    error: str
    unreachable: delivery.Unreachable | None = None


_UNREACHABLE = (
    ("blocked by the user", delivery.Unreachable.BLOCKED),
    ("user is deactivated", delivery.Unreachable.DEACTIVATED),
    ("can't initiate conversation", delivery.Unreachable.NOT_STARTED),
    ("chat not found", delivery.Unreachable.CHAT_NOT_FOUND),
)


def unreachable(exc: TelegramError) -> delivery.Unreachable | None:
    """Telegram's refusals that mean the chat can receive nothing from the bot; None for any other
    (a message Telegram cannot parse, a bot removed from a group). Only this layer reads its texts."""
    if not isinstance(exc, (Forbidden, BadRequest)):
        return None
    text = exc.message.lower()
    return next((reason for marker, reason in _UNREACHABLE if marker in text), None)


Renderer = Callable[[Services, dict[str, Any]], Awaitable[Rendered]]
AfterSend = Callable[
    [AsyncSession, dict[str, Any], int, int], Awaitable[None]
]  # (session, payload, chat_id, message_id)
AfterFailure = Callable[
    [AsyncSession, int, str, dict[str, Any], str], Awaitable[None]
]  # (session, chat_id, kind, payload, error)


def retry_delay(exc: RetryAfter) -> timedelta:
    """retry_after as a timedelta, whichever type this PTB version returns (an int is deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


GLOBAL = "g"  # conversations.turn.GLOBAL: buttons the customer router takes at any step (tests/test_outbox checks)
NONE = "—"  # an empty list or a missing value, in any language


def callback_data(action: str, argument: object = None) -> str:
    """A queued button's action as the customer router parses it: `g:<action>` or `g:<action>:<argument>`."""
    return f"{GLOBAL}:{action}" if argument is None or argument == "" else f"{GLOBAL}:{action}:{argument}"


def _button(translator: Translator, language: str, button: list[Any]) -> InlineKeyboardButton:
    """(label key, action, argument) as storage queues it. A row queued before buttons were
    abstract holds (label key, callback data) and is sent as it was."""
    if len(button) == 2:
        label, data = button
    else:
        label, action, argument = button
        data = callback_data(str(action), argument)
    return InlineKeyboardButton(translator.t(language, str(label)), callback_data=str(data))


def render_value(translator: Translator, language: str, value: object) -> object:
    """A value in the recipient's language. Storage queues typed values, rendered only here:
    {"$key": "reasons.x", "values": {...}} (a message), {"$date": "2026-04-21"},
    {"$money": ["50.00", "SGD"]}, {"$list": ["a1", "b2"]} (comma-separated, "—" when empty) and
    {"$lines": {"key": "followups.digest_line", "items": [{...}, ...], "empty": "followups.none"}}
    (one message per item, a line each). Anything else is shown as it is."""
    if not isinstance(value, dict):
        return value
    if "$key" in value:
        return Raw(
            translator.t(language, str(value["$key"]), **render_values(translator, language, value.get("values")))
        )
    if "$date" in value:
        return format_day(date.fromisoformat(str(value["$date"])), language)
    if "$money" in value:
        amount, currency = value["$money"]
        return format_money(amount, str(currency), language)
    if "$list" in value:
        return ", ".join(str(render_value(translator, language, item)) for item in value["$list"]) or NONE
    if "$lines" in value:
        spec = dict(value["$lines"])
        lines = [
            translator.t(language, str(spec["key"]), **render_values(translator, language, item))
            for item in spec.get("items") or []
        ]
        if not lines:
            return Raw(translator.t(language, str(spec["empty"]))) if spec.get("empty") else NONE
        return Raw("\n".join(lines))
    return value


def render_values(translator: Translator, language: str, values: Mapping[str, Any] | None) -> dict[str, object]:
    """Every value of a message rendered in `language` (see `render_value`)."""
    return {str(k): render_value(translator, language, v) for k, v in (values or {}).items()}


def render_text(translator: Translator, language: str, key: str, values: Mapping[str, Any] | None = None) -> str:
    """A locale key and its queued values as the recipient reads them (HTML); also for a reply that
    shows a queued message's values at once (e.g. a draw's announcement in a private chat)."""
    return translator.t(language, key, **render_values(translator, language, values))


async def render_message(services: Services, payload: dict[str, Any]) -> Rendered:
    """The default: a locale key with its values and buttons, in the recipient's language."""
    translator = services.translator
    language = str(payload.get("language") or translator.default_language)
    text = render_text(translator, language, str(payload["key"]), payload.get("values"))
    rows = payload.get("buttons") or []
    markup = (
        InlineKeyboardMarkup([[_button(translator, language, list(b)) for b in row] for row in rows]) if rows else None
    )
    return Rendered(text, markup)


OUTBOX_LEASE = "outbox"


class OutboxDispatcher:
    """Sends what the outbox holds while this process holds the outbox lease.

    `drain_once` sends every due message, one in flight per chat and chats side by side; the
    runtime calls it in a loop (it returns only when nothing is due) and tests call it through
    `tick()`. `stop` finishes what is in flight and gives the lease up, so a restart (or another
    process) goes on at once.
    """

    def __init__(self, services: Services, bot: Bot, owner: str) -> None:
        self.services = services
        self.bot = bot
        self.owner = owner
        settings = services.settings
        self.pacer = Pacer(
            settings.outbox_rate_per_second,
            settings.outbox_chat_interval_seconds,
            settings.outbox_group_interval_seconds,
        )
        self.lease_ttl = timedelta(seconds=settings.outbox_lease_seconds)
        self.heartbeat = settings.outbox_heartbeat_seconds
        self.renderers: dict[str, Renderer] = {}
        self.after_send: dict[str, AfterSend] = {}
        self.after_failure: list[AfterFailure] = []  # run in the transaction that marks it failed
        self._running = asyncio.Lock()  # the loop and a test's tick() must not drain concurrently
        self._lease_lock = asyncio.Lock()
        self._leader = False
        self._renewed_at = -math.inf
        self._stopping = False
        # heads fetched ahead: half a second's worth, topped up every quarter second or so, so a chat
        # whose interval is over is back in line soon
        self.batch = max(8, math.ceil(settings.outbox_rate_per_second / 2))
        self._changed = asyncio.Event()  # a send was settled: its chat may be served again
        self._sent = 0
        self._unstarted: list[asyncio.Future[None]] = []  # launched heads still waiting for their slot

    @staticmethod
    def wall_clock() -> datetime:
        """Leases are kept in real time, whatever the business clock (a fake one in tests) says."""
        return datetime.now(UTC)

    async def hold_lease(self, *, force: bool = False) -> bool:
        """Takes or renews the outbox lease (at most once a heartbeat unless forced).

        Taking it over requeues every row left SENDING: its sender is gone (crashed, killed or
        stopped mid-request), so those messages are sent again rather than lost.
        """
        async with self._lease_lock:
            if self._stopping:
                return False
            if not force and self._leader and time.monotonic() - self._renewed_at < self.heartbeat:
                return True
            async with unit_of_work(self.services.sessions) as session:
                held = await leases.hold(session, OUTBOX_LEASE, self.owner, self.wall_clock(), self.lease_ttl)
                if held and not self._leader and (count := await outbox.requeue_in_flight(session)):
                    log.warning(
                        "outbox: %d message(s) were in flight when their sender stopped; sending them again", count
                    )
            if held != self._leader:
                log.info("outbox: %s the lease as %s", "took" if held else "lost", self.owner)
            self._leader, self._renewed_at = held, time.monotonic()
            return held

    async def drain_once(self) -> int:
        """Sends every due message, on the metronome's beat; returns how many were sent.

        The next due heads (one per chat, oldest first) are fetched ahead while earlier ones are in
        flight, so no slot goes unused while a message is due. A head is marked SENDING in its own
        commit, then waits for its slot and goes out in a task of its own; the loop goes on to the
        next head at once. A chat in flight, or inside its interval, is not served again until its
        request has been settled and its interval has passed.
        """
        async with self._running:
            self._sent = 0
            ready: list[Head] = []  # a heap: the oldest message first, whenever it was fetched
            flying: dict[int, asyncio.Task[None]] = {}
            try:
                while not self._stopping and await self.hold_lease(force=not self._leader):
                    self._changed.clear()
                    wake = math.inf
                    if len(ready) <= self.batch // 2:
                        wake = await self._fetch_ahead(ready, flying)
                    if not ready or len(flying) >= self.batch:
                        if not flying and wake == math.inf and not self._changed.is_set():
                            break  # nothing due: the runtime's loop looks again in OUTBOX_POLL_SECONDS
                        # (a send settled while we fetched may have freed its chat's next message: look again)
                        await self._wait_for_change(wake)
                        continue
                    await self._launch(heapq.heappop(ready), flying)
            finally:
                if flying:
                    try:
                        await asyncio.gather(*flying.values(), return_exceptions=True)
                    except asyncio.CancelledError:  # stopped past its grace: left SENDING, sent again
                        for task in flying.values():
                            task.cancel()
                        raise
            return self._sent

    async def _fetch_ahead(self, ready: list[Head], flying: dict[int, asyncio.Task[None]]) -> float:
        """Tops `ready` up with due heads of chats not already held nor inside their interval.
        When none is left, returns when the earliest chat that has a due head but must still wait
        (its interval, a retry_after) may go on; otherwise infinity."""
        cooling = self.pacer.cooling()
        held = {head.chat_id for head in ready} | set(flying)
        now = self.services.clock.now()
        async with unit_of_work(self.services.sessions) as session:
            rows = await outbox.due_heads(session, now, limit=self.batch - len(ready), exclude=held | set(cooling))
            for m in rows:
                heapq.heappush(ready, Head(m.id, m.chat_id, m.kind, dict(m.payload)))
            if ready or not cooling:
                return math.inf
            waiting = await outbox.due_heads(session, now, limit=len(cooling), among=set(cooling) - held)
        return min((cooling[m.chat_id] for m in waiting), default=math.inf)

    async def _wait_for_change(self, wake: float) -> None:
        """Until a send is settled or the earliest waiting chat may go on."""
        timeout = None if wake == math.inf else max(0.0, wake - self.pacer.now())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def _launch(self, head: Head, flying: dict[int, asyncio.Task[None]]) -> None:
        """Marks the head SENDING (its own commit) and starts its send; returns once fewer than
        LOOKAHEAD heads wait for their slot, so the commit of the next one never delays a beat and
        a crash leaves only those and the requests in flight to be sent again."""
        async with unit_of_work(self.services.sessions) as session:
            if not await outbox.start_sending(session, head.id, self.owner, self.wall_clock()):
                return  # another dispatcher took it, or it was settled meanwhile
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._deliver(head, started), name=f"outbox-{head.chat_id}")
        flying[head.chat_id] = task

        def settled(_: asyncio.Task[None]) -> None:
            flying.pop(head.chat_id, None)
            self._changed.set()

        task.add_done_callback(settled)
        self._unstarted = [f for f in self._unstarted if not f.done()] + [started]
        if len(self._unstarted) >= LOOKAHEAD:  # the next head is marked while this one waits for its beat
            await asyncio.wait(self._unstarted, return_when=asyncio.FIRST_COMPLETED)

    async def _deliver(self, head: Head, started: asyncio.Future[None]) -> None:
        """One message: its requests, then the commit that settles it."""
        try:
            outcome = await self._send(head.id, head.chat_id, head.kind, head.payload, started)
            async with unit_of_work(self.services.sessions) as session:
                now = self.services.clock.now()
                if isinstance(outcome, int):
                    await outbox.mark_sent(session, head.id, now, outcome)
                    if hook := self.after_send.get(head.kind):
                        await hook(session, head.payload, head.chat_id, outcome)
                    self._sent += 1
                elif isinstance(outcome, timedelta):
                    await outbox.mark_retry(session, head.id, now + outcome, "retry later")
                else:
                    await outbox.mark_failed(session, head.id, outcome.error)
                    if outcome.unreachable is not None:
                        await self._record_undeliverable(
                            session, head.chat_id, head.kind, head.payload, outcome.unreachable
                        )
                    for failed in self.after_failure:
                        await failed(session, head.chat_id, head.kind, head.payload, outcome.error)
        except Exception:  # left SENDING: sent again by the next lease holder (after a restart)
            log.exception("outbox: message %s to chat %s could not be settled", head.id, head.chat_id)
        finally:
            if not started.done():
                started.set_result(None)

    async def stop(self, grace: float = 10.0) -> None:
        """A clean shutdown: no new claims; what is in flight finishes (or, past `grace`
        seconds, is left SENDING to be sent again); the lease is given up for the next process."""
        self._stopping = True
        try:
            async with asyncio.timeout(grace):
                async with self._running:
                    pass
        except TimeoutError:
            log.warning("outbox: a send did not finish within %.0f s of the stop; it will be sent again", grace)
        if self._leader:
            async with unit_of_work(self.services.sessions) as session:
                await leases.give_up(session, OUTBOX_LEASE, self.owner)
            self._leader = False

    async def _record_undeliverable(
        self, session: AsyncSession, chat_id: int, kind: str, payload: dict[str, Any], reason: delivery.Unreachable
    ) -> None:
        """Blocked, deactivated, chat not found: the member is marked and staff are told (once)."""
        services = self.services
        await delivery.record_undeliverable(
            session,
            chat_id=chat_id,
            reason=reason,
            kind=kind,
            payload=payload,
            now=services.clock.now(),
            staff_chat_id=services.settings.staff_chat_id,
            staff_language=services.translator.default_language,
        )

    async def _paced(self, chat_id: int, request: Awaitable[T], started: asyncio.Future[None] | None = None) -> T:
        """One request to a chat, started when the pacer allows and counted from when it ended."""
        try:
            await self.pacer.wait(chat_id)
        except BaseException:
            if inspect.iscoroutine(request):
                request.close()
            raise
        if started is not None and not started.done():
            started.set_result(None)
        try:
            return await request
        finally:
            self.pacer.done(chat_id)

    async def _send(
        self, message_id: int, chat_id: int, kind: str, payload: dict[str, Any], started: asyncio.Future[None]
    ) -> int | timedelta | Refused:
        """The sent message's id, a delay to retry after, or why it can never be sent."""
        try:
            rendered = await self.renderers.get(kind, render_message)(self.services, payload)
        except Exception as exc:  # a message that cannot be built must not stall the queue
            log.exception("outbox: could not render a %s message", kind)
            return Refused(f"render failed: {type(exc).__name__}: {exc}")
        thread = rendered.thread_id
        try:
            if rendered.caption and len(rendered.photos) == 1:
                message = await self._paced(
                    chat_id,
                    self.bot.send_photo(
                        chat_id,
                        rendered.photos[0],
                        caption=rendered.text,
                        parse_mode=ParseMode.HTML,
                        reply_markup=rendered.markup,
                        message_thread_id=thread,
                    ),
                    started,
                )
                return message.message_id
            if rendered.photos and not payload.get("_photos_sent"):  # a retry of the text never resends the album
                if len(rendered.photos) > 1:
                    album = [InputMediaPhoto(photo) for photo in rendered.photos[:10]]
                    await self._paced(
                        chat_id, self.bot.send_media_group(chat_id, album, message_thread_id=thread), started
                    )
                else:
                    await self._paced(
                        chat_id, self.bot.send_photo(chat_id, rendered.photos[0], message_thread_id=thread), started
                    )
                payload["_photos_sent"] = True
                async with unit_of_work(self.services.sessions) as session:  # a resend after a crash skips the album
                    await outbox.save_progress(session, message_id, {"_photos_sent": True})
            message = await self._paced(
                chat_id,
                self.bot.send_message(
                    chat_id,
                    rendered.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=rendered.markup,
                    message_thread_id=thread,
                ),
                started,
            )
        except RetryAfter as exc:
            delay = retry_delay(exc)
            self.pacer.pause(delay.total_seconds(), chat_id)
            return delay
        except (Forbidden, BadRequest) as exc:  # blocked, chat not found, bad message: retrying cannot help
            log.warning("outbox: message to chat %s refused for good: %s", chat_id, exc)
            return Refused(str(exc), unreachable(exc))
        except NetworkError as exc:
            attempts = int(payload.get("_attempts", 0))
            if attempts >= MAX_NETWORK_ATTEMPTS:
                return Refused(f"gave up after {attempts} network errors: {exc}")
            log.info("outbox: network error for chat %s: %s", chat_id, exc)
            return min(timedelta(seconds=2 ** min(attempts + 1, 10)), MAX_BACKOFF)
        except TelegramError as exc:
            return Refused(str(exc))
        return message.message_id
