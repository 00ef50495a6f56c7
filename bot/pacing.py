"""Spacing requests so Telegram's flood limits are never hit: overall and per chat.

`Metronome` gives out evenly spaced start times at `rate` a second. Slots are scheduled from the
previous *slot*, not from when a task happened to wake up, so a late wake-up does not slow the
rate down; and a sliding window over the real start times (the last `rate` of them must lie more
than a second, plus a small margin, before a new one) makes sure that no one-second window ever
holds more than `rate`, even when a late start and an on-time one come close together. Its room
is one request: after an idle spell it does not burst. aiolimiter's leaky bucket with room for
one (bot/replies.py) also never exceeds its rate, but it spaces from the real wake-up, so every
late wake-up is lost for good: good enough for replies, short of a metronome for bulk sends.

Time and sleep are injected, so the tests check the spacing on a fake clock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Now = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
WINDOW_MARGIN = 0.01  # seconds (1 % of the rate): room for the jitter between our start and Telegram's arrival


@dataclass
class Metronome:
    """`await slot()` returns at the next free start time: `rate` a second, evenly spaced."""

    rate: float
    now: Now = time.monotonic
    sleep: Sleep = asyncio.sleep
    margin: float = WINDOW_MARGIN
    _next: float = -math.inf
    _starts: deque[float] = field(default_factory=deque)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.interval = 1.0 / self.rate
        self._per_window = max(1, math.floor(self.rate))

    def _earliest(self, now: float) -> float:
        start = max(now, self._next)
        if len(self._starts) >= self._per_window:
            start = max(start, self._starts[0] + 1.0 + self.margin)
        return start

    async def slot(self) -> float:
        """Waits for the next slot and returns when it started. Slots are handed out in order of
        asking (under a lock), so the tasks sharing a metronome take turns."""
        async with self._lock:
            while True:
                now = self.now()
                start = self._earliest(now)
                if start <= now:
                    break
                await self.sleep(start - now)
            # A start a little late keeps the grid (the next slot is one interval after the planned
            # one, so late wake-ups cost nothing); after an idle spell the grid starts again from now.
            scheduled = self._next if now - self._next < self.interval else now
            self._next = scheduled + self.interval
            self._starts.append(now)
            while len(self._starts) > self._per_window:
                self._starts.popleft()
            return now

    def pause(self, until: float) -> None:
        """No slot before `until` (Telegram said retry_after to all of us)."""
        self._next = max(self._next, until)


@dataclass
class Pacer:
    """Waits until a request may start: `rate` per second overall (a `Metronome`), `chat_interval`
    between two requests to one private chat, `group_interval` for groups (Telegram: ~20 a minute)."""

    rate: float
    chat_interval: float
    group_interval: float
    now: Now = time.monotonic
    sleep: Sleep = asyncio.sleep
    _next_chat: dict[int, float] = field(default_factory=dict)
    metronome: Metronome = field(init=False)

    def __post_init__(self) -> None:
        self.metronome = Metronome(self.rate, self.now, self.sleep)

    def interval(self, chat_id: int) -> float:
        return self.group_interval if chat_id < 0 else self.chat_interval

    def chat_ready_at(self, chat_id: int) -> float:
        """When the chat may get its next request (its interval, or a retry_after, has passed)."""
        return self._next_chat.get(chat_id, -math.inf)

    def cooling(self) -> dict[int, float]:
        """Chats that must still wait, with the time they may go on; the ones whose wait is over
        are forgotten, so this stays as small as the chats of the last interval."""
        now = self.now()
        for chat_id in [c for c, at in self._next_chat.items() if at <= now]:
            del self._next_chat[chat_id]
        return dict(self._next_chat)

    async def wait(self, chat_id: int) -> None:
        """The chat's own interval first, then the overall slot (so a chat that must wait does
        not hold a slot others could use)."""
        while (delay := self.chat_ready_at(chat_id) - self.now()) > 0:
            await self.sleep(delay)
        await self.metronome.slot()
        self._next_chat[chat_id] = max(self.chat_ready_at(chat_id), self.now() + self.interval(chat_id))

    def done(self, chat_id: int) -> None:
        """A request to the chat finished: the next one starts a full interval later, so the
        gap holds where Telegram measures it (arrival), however long the request took."""
        self._next_chat[chat_id] = max(self.chat_ready_at(chat_id), self.now() + self.interval(chat_id))

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """After a 429: nothing more to that chat (or at all) for `seconds`."""
        until = self.now() + seconds
        if chat_id is None:
            self.metronome.pause(until)
        else:
            self._next_chat[chat_id] = max(self.chat_ready_at(chat_id), until)
