"""Direct replies (the answer to what a person just did, customer or staff): paced and retried.

The state behind a reply is committed before the reply is sent, so a reply that is lost leaves
the person without the next question. So a reply that Telegram answers with 429 is sent again
after `retry_after`, and one that hits a network error (or a full connection pool) is tried a few
more times with a short backoff. All replies of the process share one rate limit
(REPLY_RATE_PER_SECOND), so a burst of answers to many people at once stays under Telegram's
overall limit.

Why not python-telegram-bot's AIORateLimiter: it wraps every request of the Bot, the outbox
dispatcher's too, which has its own pacer (per chat and per group) and keeps its retries in the
database, so both would pace and retry the same message; and it does not retry network errors.
The limiter here is aiolimiter's leaky bucket (the library AIORateLimiter itself uses), with room
for one request, so replies are evenly spaced and never come in a burst: two starts are always at
least 1/rate apart, so no second holds more than the rate. It spaces from the real wake-up, so a
late one costs a little rate, which replies can afford; the outbox's bulk sends use the exact
metronome of bot/pacing.py. Replies have their own budget (REPLY_RATE_PER_SECOND), apart from the
outbox's, so a full outbox never delays an answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from aiolimiter import AsyncLimiter
from telegram import CallbackQuery, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.outbox import retry_delay

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

BOT_DATA_KEY = "replies"
NETWORK_BACKOFF = (0.5, 1.0, 2.0)  # seconds before each new try after a network error
MAX_RETRY_AFTER_TRIES = 3
MAX_RETRY_AFTER = 60.0  # seconds: asked to wait longer, the reply is given up (the person may write again)


class ReplySender:
    """Sends one request to a chat once the shared rate allows it, retrying what can be retried."""

    def __init__(self, rate_per_second: float) -> None:
        self.rate_per_second = rate_per_second
        self._limiter = AsyncLimiter(1, 1.0 / rate_per_second)

    async def send(
        self, chat_id: int, method: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """`await method(*args, **kwargs)`, e.g. `bot.send_message`; None when it could not be
        delivered (blocked, or still failing after the retries: logged, no traceback).
        BadRequest is raised: the message itself is wrong, and sending it again cannot help."""
        network_errors = throttled = 0
        while True:
            await self._limiter.acquire()
            try:
                return await method(*args, **kwargs)
            except RetryAfter as exc:
                delay = retry_delay(exc).total_seconds()
                throttled += 1
                if throttled > MAX_RETRY_AFTER_TRIES or delay > MAX_RETRY_AFTER:
                    log.warning(
                        "reply to chat %s given up: Telegram asked to wait %.0f s (%d times)", chat_id, delay, throttled
                    )
                    return None
                log.info("reply to chat %s: retry after %.1f s", chat_id, delay)
                await asyncio.sleep(delay)
            except Forbidden as exc:
                log.info("reply to chat %s refused: %s", chat_id, exc)
                return None
            except BadRequest:
                raise
            except NetworkError as exc:  # TimedOut included: the state is saved, the reply must follow
                if network_errors >= len(NETWORK_BACKOFF):
                    log.warning(
                        "reply to chat %s given up after %d network errors: %s", chat_id, network_errors + 1, exc
                    )
                    return None
                log.info("reply to chat %s: network error (%s), trying again", chat_id, exc)
                await asyncio.sleep(NETWORK_BACKOFF[network_errors])
                network_errors += 1


def install(application: Application[Any, Any, Any, Any, Any, Any], rate_per_second: float) -> ReplySender:
    """One sender per bot process, shared by every handler."""
    replies = application.bot_data[BOT_DATA_KEY] = ReplySender(rate_per_second)
    return replies


def sender(context: Any) -> ReplySender:
    """The process's sender, from a handler's context."""
    installed: ReplySender = context.application.bot_data[BOT_DATA_KEY]
    return installed


async def send_html(
    context: Any, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """A text reply (locale HTML) through the process's sender; None when it was not delivered."""
    return await sender(context).send(
        chat_id, context.bot.send_message, chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
    )


async def answer_query(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answers a button press (the toast). Not paced: Telegram does not count answers as
    messages, and one answered too late or lost only leaves the spinner a few seconds."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as exc:
        log.info("callback answer failed: %s", exc)
