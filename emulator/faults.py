"""Fault injection: make chosen Bot API calls fail, to test retries and error handling.

Method faults answer a Bot API call with an error envelope; download faults spoil what
``/file/bot<token>/<path>`` serves (a 500, a 404 as for an expired file_path, an empty, garbage or
cut-short body), because a bot must survive a bad download as much as a refused call.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from .errors import ApiError

DOWNLOAD_FAULT_KINDS = ("server_error", "not_found", "empty", "garbage", "truncated")
GARBAGE = bytes(range(7, 250, 3)) * 16  # no image format starts like this


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
        self.downloads = DownloadFaults()

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
        self.downloads.clear()

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


@dataclass
class DownloadFault:
    """Spoil the next ``remaining`` downloads (of ``file_path`` only, when set); see DOWNLOAD_FAULT_KINDS."""

    kind: str
    remaining: int | None = 1
    file_path: str | None = None

    def response(self, data: bytes) -> tuple[int, bytes, str]:
        """(HTTP status, body, content type) served instead of ``data``, the file's real bytes."""
        if self.kind == "server_error":
            return _envelope(500, "Internal Server Error")
        if self.kind == "not_found":
            return _envelope(404, "Not Found")
        if self.kind == "empty":
            return 200, b"", "application/octet-stream"
        if self.kind == "garbage":
            return 200, GARBAGE, "application/octet-stream"
        return 200, data[: len(data) // 2], "application/octet-stream"


def _envelope(code: int, description: str) -> tuple[int, bytes, str]:
    body = json.dumps({"ok": False, "error_code": code, "description": description}).encode()
    return code, body, "application/json"


class DownloadFaults:
    """The active download faults, checked in the order they were added."""

    def __init__(self) -> None:
        self.faults: list[DownloadFault] = []

    def add(self, kind: str, *, times: int | None = 1, file_path: str | None = None) -> DownloadFault:
        if kind not in DOWNLOAD_FAULT_KINDS:
            raise ValueError(f"unknown download fault {kind!r}; one of {', '.join(DOWNLOAD_FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or null: until cleared)")
        fault = DownloadFault(kind, times, file_path)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def match(self, file_path: str) -> DownloadFault | None:
        """The fault for this download, consuming one of its ``times``; None when it is served as is."""
        for fault in self.faults:
            if fault.file_path is not None and fault.file_path != file_path:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
            return fault
        return None
