"""Sends what the outbox holds, in order per chat, at most once, honouring retry_after."""

from __future__ import annotations

import logging
from datetime import timedelta

from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.i18n import Translator
from bot.services import Services
from storage import outbox
from storage.db import unit_of_work

log = logging.getLogger(__name__)


def render(translator: Translator, payload: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message text and buttons in the recipient's language."""
    language = str(payload.get("language") or translator.default_language)
    text = translator.t(language, str(payload["key"]), **dict(payload.get("values") or {}))
    rows = payload.get("buttons") or []
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(translator.t(language, key), callback_data=data) for key, data in row] for row in rows]) if rows else None
    return text, markup


class OutboxDispatcher:
    """One pass (`drain_once`) sends every due message; the runtime calls it in a loop."""

    def __init__(self, services: Services, bot: Bot) -> None:
        self.services = services
        self.bot = bot

    async def recover(self) -> None:
        async with unit_of_work(self.services.sessions) as session:
            if count := await outbox.fail_interrupted(session):
                log.warning("%d outbox message(s) were interrupted mid-send and marked failed", count)

    async def drain_once(self) -> int:
        """Sends due messages; returns how many were sent."""
        now = self.services.clock.now()
        async with unit_of_work(self.services.sessions) as session:
            claimed = [(m.id, m.chat_id, dict(m.payload)) for m in await outbox.claim_due(session, now)]
        sent, held = 0, set[int]()
        for message_id, chat_id, payload in claimed:
            if chat_id in held:
                async with unit_of_work(self.services.sessions) as session:
                    await outbox.release(session, message_id)
                continue
            outcome = await self._send(chat_id, payload)
            async with unit_of_work(self.services.sessions) as session:
                if outcome is None:
                    await outbox.mark_sent(session, message_id, self.services.clock.now())
                    sent += 1
                elif isinstance(outcome, timedelta):
                    held.add(chat_id)
                    await outbox.mark_retry(session, message_id, self.services.clock.now() + outcome, "retry later")
                else:
                    await outbox.mark_failed(session, message_id, outcome)
        return sent

    async def _send(self, chat_id: int, payload: dict[str, Any]) -> timedelta | str | None:
        """None when sent, a delay to retry after, or the reason it can never be sent."""
        text, markup = render(self.services.translator, payload)
        try:
            await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except RetryAfter as exc:
            delay = exc.retry_after if isinstance(exc.retry_after, timedelta) else timedelta(seconds=float(exc.retry_after))
            return delay
        except (Forbidden, BadRequest) as exc:  # blocked, chat not found, bad message: retrying cannot help
            log.warning("outbox: message to chat %s refused for good: %s", chat_id, exc)
            return str(exc)
        except NetworkError as exc:
            log.info("outbox: network error for chat %s: %s", chat_id, exc)
            return timedelta(seconds=5)
        except TelegramError as exc:
            return str(exc)
        return None

