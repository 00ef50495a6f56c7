"""Fault injection: make chosen Bot API calls fail, to test retries and error handling."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import ApiError


@dataclass
class Fault:
    """Answer ``method`` (or any, for "*") with this error, ``times`` times or for ``seconds``."""

    method: str
    error_code: int
    description: str
    retry_after: int | None = None
    remaining: int | None = None
    until: float | None = None
    chat_id: int | None = None

    def expired(self, now: float) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return True
        return self.until is not None and now >= self.until

    def error(self) -> ApiError:
        params = {"retry_after": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.error_code, self.description, parameters=params)


class FaultInjector:
    """The active faults, checked before every call in the order they were added."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int | None = None,
        seconds: float | None = None,
        chat_id: int | None = None,
    ) -> Fault:
        fault = Fault(
            method=method,
            error_code=error_code,
            description=description,
            retry_after=retry_after,
            remaining=times,
            until=None if seconds is None else time.monotonic() + seconds,
            chat_id=chat_id,
        )
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def match(self, method: str, chat_id: int | None) -> ApiError | None:
        """The error for this call, consuming one of the fault's ``times``; None if no fault applies.

        "*" matches every method except getUpdates, which Telegram's flood control never limits and
        which would otherwise stop the bot's poller instead of the call under test.
        """
        now = time.monotonic()
        self.faults = [f for f in self.faults if not f.expired(now)]
        for fault in self.faults:
            if fault.method == "*":
                if method.lower() == "getupdates":
                    continue
            elif fault.method.lower() != method.lower():
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
            return fault.error()
        return None
