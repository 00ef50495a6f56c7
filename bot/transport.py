"""aiohttp-based HTTP transport for python-telegram-bot.

PTB ships an httpx transport; the project already depends on aiohttp, so this class lets the
bot run on a single HTTP stack while behaving like ``HTTPXRequest`` (same timeouts, errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.clean_input import clean_payload

_CHUNK = 64 * 1024  # aiohttp drains the socket once >64 KiB are buffered
_POOL_TIMEOUT_MSG = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)


class AiohttpRequest(BaseRequest):
    """``BaseRequest`` on aiohttp, mirroring ``telegram.request.HTTPXRequest``.

    httpx timeouts are per phase; they map onto aiohttp like this:

    * ``pool_timeout``: aiohttp only has ``ClientTimeout.connect`` (pool wait + connect
      together), so the pool is guarded by an ``asyncio.Semaphore`` of
      ``connection_pool_size`` (same as the connector limit) awaited for at most
      ``pool_timeout``; expiry raises ``TimedOut`` with PTB's pool message, nothing sent.
    * ``connect_timeout`` -> ``ClientTimeout(connect=..., sock_connect=...)``.
    * ``read_timeout`` -> ``ClientTimeout(sock_read=...)``: max gap between received chunks,
      started once the body is sent (long polling: PTB adds ``timeout`` to it).
    * ``write_timeout`` has no aiohttp counterpart: the body is streamed in 64 KiB chunks
      and every chunk must be flushed within it, else ``TimedOut`` (like httpx's per-write
      timeout; requests with files default to ``media_write_timeout``). The body is built
      in memory first (PTB holds uploads in memory anyway); aiohttp's final flush of at
      most 64 KiB after the last chunk is not covered.
    * ``total`` is ``None``: like httpx there is no overall cap, so slow-but-moving
      uploads/downloads and long polls are fine.
    """

    __slots__ = ("_limit", "_pool", "_proxy", "_session", "_timeouts", "_trust_env")

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
        trust_env: bool = False,
    ) -> None:
        self._limit = connection_pool_size
        self._proxy = proxy or None
        self._trust_env = trust_env
        self._timeouts = {
            "read": read_timeout,
            "write": write_timeout,
            "connect": connect_timeout,
            "pool": pool_timeout,
            "media_write": media_write_timeout,
        }
        self._session: aiohttp.ClientSession | None = None
        self._pool: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout; PTB uses it to size the getUpdates long-poll timeout."""
        return self._timeouts["read"]

    @property
    def connection_pool_size(self) -> int:
        """How many requests may be in flight at once (BOT_API_POOL_SIZE for the bot's requests)."""
        return self._limit

    @property
    def pool_timeout(self) -> float | None:
        """How long a request waits for a free connection before TimedOut, nothing sent."""
        return self._timeouts["pool"]

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """PTB's parsing, then every string cleaned (bot/clean_input.py): updates enter here in
        polling mode, so no handler ever sees NUL or a lone surrogate."""
        cleaned: JSONDict = clean_payload(BaseRequest.parse_json_payload(payload))
        return cleaned

    @property
    def proxy(self) -> str | None:
        """The proxy every request goes through (BOT_API_PROXY), or None for a direct connection."""
        return self._proxy

    async def initialize(self) -> None:
        """Create the session here: aiohttp binds it to the running event loop.

        ``trust_env`` stays off unless asked for (BOT_API_TRUST_ENV): with it aiohttp looks up
        ``.netrc`` and the *_PROXY variables in an executor thread on every request, which cost
        12 % of the bot's CPU per update. A proxy named in the settings needs no look-up."""
        if self._session is None or self._session.closed:
            self._pool = asyncio.Semaphore(self._limit)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                trust_env=self._trust_env,
                proxy=self._proxy,
            )

    async def shutdown(self) -> None:
        """Close the session; calling it again (or before initialize) is a no-op."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request and return ``(status, body)``; errors map like HTTPXRequest."""
        session, sem = self._session, self._pool
        if session is None or session.closed or sem is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        t = self._timeouts
        read = t["read"] if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = t["connect"] if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = t["pool"] if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = t["media_write"] if files else t["write"]

        headers = {"User-Agent": self.USER_AGENT}
        try:
            async with asyncio.timeout(pool):
                await sem.acquire()
        except TimeoutError as err:
            raise TimedOut(message=_POOL_TIMEOUT_MSG) from err
        try:
            async with asyncio.timeout(None) as write_deadline:
                body = None
                if request_data is not None:
                    form = aiohttp.FormData(request_data.json_parameters)
                    for name, (filename, content, mimetype) in (files or {}).items():
                        if isinstance(content, bytes):  # aiohttp warns on >1 MiB raw bytes
                            content = io.BytesIO(content)
                        form.add_field(name, content, filename=filename, content_type=mimetype)
                    payload = form()
                    raw = await payload.as_bytes()
                    headers["Content-Type"] = payload.content_type
                    headers["Content-Length"] = str(len(raw))
                    body = _stream(raw, write_deadline, write_timeout)
                async with session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect, sock_read=read),
                ) as resp:
                    return resp.status, await resp.read()
        except TimeoutError as err:  # aiohttp's *TimeoutError subclass it; so does write expiry
            raise TimedOut from err
        except (aiohttp.ClientError, OSError) as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
        finally:
            sem.release()


async def _stream(raw: bytes, deadline: asyncio.Timeout, write_timeout: float | None) -> AsyncIterator[bytes]:
    """Yield ``raw`` in chunks; aiohttp resumes us only after a chunk is written, so
    re-arming ``deadline`` before each yield bounds every single write (httpx semantics)."""
    loop = asyncio.get_running_loop()
    try:
        for start in range(0, len(raw), _CHUNK):
            if write_timeout is not None:
                with contextlib.suppress(RuntimeError):  # deadline already expired/exited
                    deadline.reschedule(loop.time() + write_timeout)
            yield raw[start : start + _CHUNK]
    finally:
        with contextlib.suppress(RuntimeError):
            deadline.reschedule(None)  # body sent: from here on sock_read governs
