"""A wake-up primitive shared by long polls, ``wait_event`` and webhook delivery.

Waiters check a predicate and sleep on an :class:`asyncio.Event` that is replaced on every
notification, so state changes wake them at once without any sleep-polling, and ``notify`` can be
called from synchronous code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Closed(Exception):
    """The emulator stopped while someone was waiting."""


class Notifier:
    """Broadcast "something changed" to every waiter."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self.closed = False

    def notify(self) -> None:
        """Wake every current waiter; later waiters get a fresh event."""
        if self._event is not None:
            self._event.set()
            self._event = None

    def close(self) -> None:
        """Wake everyone for good (shutdown)."""
        self.closed = True
        self.notify()

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float | None) -> T:
        """Return the first non-None ``predicate()``; ``TimeoutError`` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            result = predicate()
            if result is not None:
                return result
            if self.closed:
                raise Closed()
            if self._event is None:
                self._event = asyncio.Event()
            event = self._event
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise TimeoutError()
            await asyncio.wait_for(event.wait(), remaining)
