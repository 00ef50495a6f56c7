"""Sends what the outbox holds: in order per chat, paced, at most once, honouring retry_after.

Each kind of message has a renderer (text, buttons, photos in the recipient's language);
the default renders a locale key. Chats are served side by side, each chat's messages in
order. A message is claimed (SENDING) before the request and settled after it, so a crash
in between leaves it SENDING and it is marked failed, never sent twice. A message refused for
good runs the `after_failure` hooks in the transaction that marks it failed; the default one
(`storage.delivery`) marks a member who blocked the bot and tells the staff chat, once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.constants import ParseMode
from telegram.warnings import PTBDeprecationWarning
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.i18n import format_day, format_money
from bot.pacing import Pacer
from bot.services import Services
from storage import delivery, outbox
from storage.db import unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BACKOFF = timedelta(minutes=10)
MAX_NETWORK_ATTEMPTS = 30  # with the backoff capped at 10 minutes: about four hours of trying


@dataclass
class Rendered:
    text: str
    markup: InlineKeyboardMarkup | None = None
    photos: list[bytes] = field(default_factory=list)  # sent first, as an album when several


Renderer = Callable[[Services, dict[str, Any]], Awaitable[Rendered]]
AfterSend = Callable[[AsyncSession, dict[str, Any], int, int], Awaitable[None]]  # (session, payload, chat_id, message_id)
AfterFailure = Callable[[AsyncSession, int, str, dict[str, Any], str], Awaitable[None]]  # (session, chat_id, kind, payload, error)


def retry_delay(exc: RetryAfter) -> timedelta:
    """retry_after as a timedelta, whichever type this PTB version returns (an int is deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def _translated(services: Services, language: str, value: object) -> object:
    """Values that depend on the recipient's language are rendered in it: {"$key": "reasons.x"}
    (a message), {"$date": "2026-04-21"}, {"$money": ["50.00", "SGD"]}."""
    if not isinstance(value, dict):
        return value
    if "$key" in value:
        return services.translator.t(language, str(value["$key"]))
    if "$date" in value:
        return format_day(date.fromisoformat(str(value["$date"])), language)
    if "$money" in value:
        amount, currency = value["$money"]
        return format_money(amount, str(currency), language)
    return value


async def render_message(services: Services, payload: dict[str, Any]) -> Rendered:
    """The default: a locale key with its values and buttons, in the recipient's language."""
    translator = services.translator
    language = str(payload.get("language") or translator.default_language)
    values = {k: _translated(services, language, v) for k, v in dict(payload.get("values") or {}).items()}
    text = translator.t(language, str(payload["key"]), **values)
    rows = payload.get("buttons") or []
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(translator.t(language, key), callback_data=data) for key, data in row] for row in rows]) if rows else None
    return Rendered(text, markup)


class OutboxDispatcher:
    """`drain_once` sends every due message; the runtime calls it in a loop."""

    def __init__(self, services: Services, bot: Bot) -> None:
        self.services = services
        self.bot = bot
        settings = services.settings
        self.pacer = Pacer(settings.outbox_rate_per_second, settings.outbox_chat_interval_seconds, settings.outbox_group_interval_seconds)
        self.renderers: dict[str, Renderer] = {}
        self.after_send: dict[str, AfterSend] = {}
        self.after_failure: list[AfterFailure] = [self._record_undeliverable]  # run in the transaction that marks it failed
        self._running = asyncio.Lock()

    async def recover(self) -> None:
        async with unit_of_work(self.services.sessions) as session:
            if count := await outbox.fail_interrupted(session, self.services.clock.now()):
                log.warning("%d outbox message(s) were interrupted mid-send and marked failed", count)

    async def drain_once(self) -> int:
        """Sends the due messages, chats side by side; returns how many were sent."""
        async with self._running:  # the loop and a test's tick() must not claim concurrently
            await self.recover()  # another process's orphans, once their lease ran out
            now = self.services.clock.now()
            async with unit_of_work(self.services.sessions) as session:
                claimed = [(m.id, m.chat_id, m.kind, dict(m.payload)) for m in await outbox.claim_due(session, now)]
            by_chat: dict[int, list[tuple[int, str, dict[str, Any]]]] = {}
            for message_id, chat_id, kind, payload in claimed:
                by_chat.setdefault(chat_id, []).append((message_id, kind, payload))
            counts = await asyncio.gather(*(self._drain_chat(chat_id, queue) for chat_id, queue in by_chat.items()))
            return sum(counts)

    async def _drain_chat(self, chat_id: int, queue: list[tuple[int, str, dict[str, Any]]]) -> int:
        sent = 0
        for index, (message_id, kind, payload) in enumerate(queue):
            outcome = await self._send(chat_id, kind, payload)
            async with unit_of_work(self.services.sessions) as session:
                now = self.services.clock.now()
                if isinstance(outcome, int):
                    await outbox.mark_sent(session, message_id, now, outcome)
                    if hook := self.after_send.get(kind):
                        await hook(session, payload, chat_id, outcome)
                    sent += 1
                    continue
                if isinstance(outcome, timedelta):
                    await outbox.mark_retry(session, message_id, now + outcome, "retry later", {"_photos_sent": True} if payload.get("_photos_sent") else None)
                else:
                    await outbox.mark_failed(session, message_id, outcome)
                    for failed in self.after_failure:
                        await failed(session, chat_id, kind, payload, outcome)
                    if "blocked" in outcome or "deactivated" in outcome:
                        continue  # the rest will fail too, but each is settled on its own turn
                for later_id, _, _ in queue[index + 1 :]:  # keep the chat's order: the rest waits
                    await outbox.release(session, later_id)
            break
        return sent

    async def _record_undeliverable(self, session: AsyncSession, chat_id: int, kind: str, payload: dict[str, Any], error: str) -> None:
        """Blocked, deactivated, chat not found: the member is marked and staff are told (once)."""
        if delivery.is_unreachable(error):
            services = self.services
            await delivery.record_undeliverable(
                session,
                chat_id=chat_id,
                error=error,
                kind=kind,
                payload=payload,
                now=services.clock.now(),
                staff_chat_id=services.settings.staff_chat_id,
                staff_language=services.translator.default_language,
            )

    async def _paced(self, chat_id: int, request: Awaitable[T]) -> T:
        """One request to a chat, started when the pacer allows and counted from when it ended."""
        try:
            await self.pacer.wait(chat_id)
        except BaseException:
            if inspect.iscoroutine(request):
                request.close()
            raise
        try:
            return await request
        finally:
            self.pacer.done(chat_id)

    async def _send(self, chat_id: int, kind: str, payload: dict[str, Any]) -> int | timedelta | str:
        """The sent message's id, a delay to retry after, or why it can never be sent."""
        try:
            rendered = await self.renderers.get(kind, render_message)(self.services, payload)
        except Exception as exc:  # a message that cannot be built must not stall the queue
            log.exception("outbox: could not render a %s message", kind)
            return f"render failed: {type(exc).__name__}: {exc}"
        try:
            if rendered.photos and not payload.get("_photos_sent"):  # a retry of the text never resends the album
                if len(rendered.photos) > 1:
                    await self._paced(chat_id, self.bot.send_media_group(chat_id, [InputMediaPhoto(photo) for photo in rendered.photos[:10]]))
                else:
                    await self._paced(chat_id, self.bot.send_photo(chat_id, rendered.photos[0]))
                payload["_photos_sent"] = True
            message = await self._paced(chat_id, self.bot.send_message(chat_id, rendered.text, parse_mode=ParseMode.HTML, reply_markup=rendered.markup))
        except RetryAfter as exc:
            delay = retry_delay(exc)
            self.pacer.pause(delay.total_seconds(), chat_id)
            return delay
        except (Forbidden, BadRequest) as exc:  # blocked, chat not found, bad message: retrying cannot help
            log.warning("outbox: message to chat %s refused for good: %s", chat_id, exc)
            return str(exc)
        except NetworkError as exc:
            attempts = int(payload.get("_attempts", 0))
            if attempts >= MAX_NETWORK_ATTEMPTS:
                return f"gave up after {attempts} network errors: {exc}"
            log.info("outbox: network error for chat %s: %s", chat_id, exc)
            return min(timedelta(seconds=2 ** min(attempts + 1, 10)), MAX_BACKOFF)
        except TelegramError as exc:
            return str(exc)
        return message.message_id
