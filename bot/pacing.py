"""Spacing requests so Telegram's flood limits are never hit: overall and per chat."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Pacer:
    """Waits until a request may start: `rate` per second overall, `chat_interval` between two
    requests to one private chat, `group_interval` for groups (Telegram: ~20 a minute)."""

    rate: float
    chat_interval: float
    group_interval: float
    _next_global: float = 0.0
    _next_chat: dict[int, float] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def wait(self, chat_id: int) -> None:
        async with self._lock:  # reserve a slot atomically, then sleep outside the lock
            now = time.monotonic()
            start = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
            self._next_global = start + 1.0 / self.rate
            self._next_chat[chat_id] = start + (self.group_interval if chat_id < 0 else self.chat_interval)
        delay = start - now
        if delay > 0:
            await asyncio.sleep(delay)

    def done(self, chat_id: int) -> None:
        """A request to the chat finished: the next one starts a full interval later, so the
        gap holds where Telegram measures it (arrival), however long the request took."""
        interval = self.group_interval if chat_id < 0 else self.chat_interval
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), time.monotonic() + interval)

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """After a 429: nothing more to that chat (or at all) for `seconds`."""
        until = time.monotonic() + seconds
        if chat_id is None:
            self._next_global = max(self._next_global, until)
        else:
            self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)
