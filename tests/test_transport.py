"""AiohttpRequest against local fake Bot API servers, driven through a real telegram.Bot."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest

from bot.transport import AiohttpRequest

TOKEN = "123456:TEST-TOKEN"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Test", "username": "test_bot"}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"\x00\xff" * 300

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def message(mid: int = 1, **extra: Any) -> dict[str, Any]:
    return {"message_id": mid, "date": 1700000000, "chat": {"id": 42, "type": "private"}, **extra}


@dataclass
class Recorded:
    method: str
    content_type: str
    headers: dict[str, str]
    form: dict[str, Any]
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)


class FakeApi:
    """A Bot API stand-in that records each call and answers via per-method handlers."""

    def __init__(self) -> None:
        self.calls: list[Recorded] = []
        self.handlers: dict[str, Handler] = {}
        self.files: dict[str, bytes] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None
        self.released = asyncio.Event()  # a hanging handler answers only when the server stops

    def calls_to(self, method: str) -> list[Recorded]:
        return [c for c in self.calls if c.method == method]

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        form: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes, str]] = {}
        if request.body_exists:
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[name] = (value.filename, value.file.read(), value.content_type)
                else:
                    form[name] = value
        self.calls.append(Recorded(method, request.content_type, dict(request.headers), form, files))
        if method in self.handlers:
            return await self.handlers[method](request)
        if method == "getMe":
            return ok(BOT_USER)
        return ok(message(text=form.get("text")))

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=self.files[request.match_info["path"]])

    async def start(self) -> None:
        app = web.Application()
        app[API_KEY] = self
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        assert self._runner is not None
        self.released.set()
        await self._runner.cleanup()


API_KEY = web.AppKey("api", FakeApi)


@pytest.fixture
async def api() -> AsyncIterator[FakeApi]:
    server = FakeApi()
    await server.start()
    yield server
    await server.stop()


def make_bot(port: int, **request_kwargs: Any) -> Bot:
    return Bot(
        TOKEN,
        base_url=f"http://127.0.0.1:{port}/bot",
        base_file_url=f"http://127.0.0.1:{port}/file/bot",
        request=AiohttpRequest(**request_kwargs),
        get_updates_request=AiohttpRequest(**{**request_kwargs, "connection_pool_size": 1}),
    )


@pytest.fixture
async def bot(api: FakeApi) -> AsyncIterator[Bot]:
    async with make_bot(api.port) as b:
        yield b


# 1. plain calls -------------------------------------------------------------------------------


async def test_send_message_is_form_encoded_with_json_nested_values(api: FakeApi, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes ✓", callback_data="y")]])
    msg = await bot.send_message(42, "héllo & bye", reply_markup=markup)

    assert msg.text == "héllo & bye" and msg.chat.id == 42 and msg.message_id == 1
    call = api.calls_to("sendMessage")[0]
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.headers["User-Agent"] == BaseRequest.USER_AGENT
    assert call.form["chat_id"] == "42" and call.form["text"] == "héllo & bye"
    assert json.loads(call.form["reply_markup"]) == markup.to_dict()
    assert not call.files


# 2. uploads -----------------------------------------------------------------------------------


async def test_send_photo_and_document_bytes_are_multipart(api: FakeApi, bot: Bot) -> None:
    await bot.send_photo(42, PNG, caption="look", filename="pic.png")
    await bot.send_document(42, PDF, filename="report.pdf")

    photo = api.calls_to("sendPhoto")[0]
    assert photo.content_type == "multipart/form-data"
    assert photo.files["photo"] == ("pic.png", PNG, "image/png")
    assert photo.form == {"chat_id": "42", "caption": "look"}
    doc = api.calls_to("sendDocument")[0]
    assert doc.files["document"] == ("report.pdf", PDF, "application/pdf")


async def test_send_media_group_attaches_two_photos(api: FakeApi, bot: Bot) -> None:
    async def answer(_: web.Request) -> web.Response:
        return ok([message(1, photo=[]), message(2, photo=[])])

    api.handlers["sendMediaGroup"] = answer
    second = PNG[::-1]
    msgs = await bot.send_media_group(
        42, [InputMediaPhoto(PNG, filename="a.png"), InputMediaPhoto(second, filename="b.png")]
    )

    assert [m.message_id for m in msgs] == [1, 2]
    call = api.calls_to("sendMediaGroup")[0]
    media = json.loads(call.form["media"])
    assert [m["type"] for m in media] == ["photo", "photo"]
    names = [m["media"].removeprefix("attach://") for m in media]
    assert all(m["media"].startswith("attach://") for m in media)
    assert [call.files[n][0] for n in names] == ["a.png", "b.png"]
    assert [call.files[n][1] for n in names] == [PNG, second]


async def test_get_file_and_download(api: FakeApi, bot: Bot) -> None:
    async def answer(_: web.Request) -> web.Response:
        return ok({"file_id": "F", "file_unique_id": "U", "file_size": len(PNG), "file_path": "p/x.png"})

    api.handlers["getFile"] = answer
    api.files["p/x.png"] = PNG
    tg_file = await bot.get_file("F")
    assert await tg_file.download_as_bytearray() == bytearray(PNG)


# 3. timeouts and network failures -----------------------------------------------------------


async def hang(request: web.Request) -> web.Response:
    """Never answers while the test runs: any read timeout must fire."""
    await request.app[API_KEY].released.wait()
    return ok(message())


async def test_slow_server_times_out_with_default_read_timeout(api: FakeApi) -> None:
    api.handlers["sendMessage"] = hang
    async with make_bot(api.port, read_timeout=0.2) as b:
        with pytest.raises(TimedOut):
            await b.send_message(42, "x")


async def test_per_call_read_timeout_overrides_default(api: FakeApi, bot: Bot) -> None:
    api.handlers["sendMessage"] = hang
    with pytest.raises(TimedOut):
        await bot.send_message(42, "x", read_timeout=0.2)


async def test_long_poll_is_not_cut_by_read_timeout(api: FakeApi) -> None:
    async def slow_updates(_: web.Request) -> web.Response:
        await asyncio.sleep(0.4)  # longer than read_timeout, shorter than read_timeout+timeout
        return ok([])

    api.handlers["getUpdates"] = slow_updates
    async with make_bot(api.port, read_timeout=0.2) as b:
        assert await b.get_updates(timeout=2) == ()
    assert api.calls_to("getUpdates")[0].form["timeout"] == "2"


async def test_connecting_to_closed_port_is_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = make_bot(port)
    with pytest.raises(NetworkError) as exc:
        await b.initialize()  # initialize() calls getMe
    await b.shutdown()
    assert not isinstance(exc.value, TimedOut)
    assert str(exc.value).startswith("aiohttp.")


@pytest.mark.parametrize("partial", [b"", b'{"ok": true, "res'])
async def test_connection_closed_mid_response_is_network_error(api: FakeApi, bot: Bot, partial: bytes) -> None:
    async def cut(request: web.Request) -> web.StreamResponse:
        if not partial:  # drop the connection before any response bytes
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = 1000
        await resp.prepare(request)
        await resp.write(partial)
        assert request.transport is not None
        request.transport.close()
        return resp

    api.handlers["sendMessage"] = cut
    with pytest.raises(NetworkError) as exc:
        await bot.send_message(42, "x")
    assert not isinstance(exc.value, TimedOut)
    assert str(exc.value).startswith("aiohttp.")


async def test_stalled_upload_hits_media_write_timeout() -> None:
    """Server reads the headers, then never reads the body: the per-chunk write watchdog fires.
    write_timeout is huge, so only media_write_timeout (the default for files) can trigger it."""
    release = asyncio.Event()

    async def get_me_or_sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if b"/getMe " in head:
            body = json.dumps({"ok": True, "result": BOT_USER}).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        await release.wait()
        writer.close()

    server = await asyncio.start_server(get_me_or_sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    big = b"\0" * (64 * 1024 * 1024)  # far more than loopback socket buffers hold
    try:
        async with make_bot(port, write_timeout=100, media_write_timeout=0.3) as b:
            async with asyncio.timeout(10):
                with pytest.raises(TimedOut) as exc:
                    await b.send_document(42, big, filename="big.bin")
        # our write watchdog (plain TimeoutError), not one of aiohttp's read/connect timeouts
        assert type(exc.value.__cause__) is TimeoutError
    finally:
        release.set()
        server.close()
        await server.wait_closed()


# 4. HTTP error statuses ---------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # retry_after type
@pytest.mark.parametrize(
    ("status", "extra", "exc_type"),
    [
        (400, {}, BadRequest),
        (403, {}, Forbidden),
        (429, {"parameters": {"retry_after": 7}}, RetryAfter),
    ],
)
async def test_error_statuses_map_to_ptb_exceptions(
    api: FakeApi, bot: Bot, status: int, extra: dict[str, Any], exc_type: type[Exception]
) -> None:
    description = f"Error {status}: something specific"

    async def fail(_: web.Request) -> web.Response:
        body = {"ok": False, "error_code": status, "description": description, **extra}
        return web.json_response(body, status=status)

    api.handlers["sendMessage"] = fail
    with pytest.raises(exc_type) as exc:
        await bot.send_message(42, "x")
    if isinstance(exc.value, RetryAfter):
        assert exc.value.retry_after in (7, dt.timedelta(seconds=7))
    else:
        assert description in str(exc.value)


# 5. connection pool -------------------------------------------------------------------------


async def test_pool_exhaustion_times_out_without_sending(api: FakeApi) -> None:
    arrived, release = asyncio.Event(), asyncio.Event()

    async def blocking(_: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return ok(message(text="first"))

    api.handlers["sendMessage"] = blocking
    async with make_bot(api.port, connection_pool_size=1, pool_timeout=0.1) as b:
        first = asyncio.create_task(b.send_message(42, "first"))
        await arrived.wait()
        with pytest.raises(TimedOut, match="Pool timeout"):
            await b.send_message(42, "second")
        release.set()
        assert (await first).text == "first"
        assert [c.form["text"] for c in api.calls_to("sendMessage")] == ["first"]
        api.handlers.clear()
        assert (await b.send_message(42, "third")).text == "third"  # slot was released


# 6. lifecycle -------------------------------------------------------------------------------


async def test_initialize_and_shutdown_are_idempotent(api: FakeApi) -> None:
    req = AiohttpRequest()
    await req.shutdown()  # before initialize: no-op
    await req.initialize()
    session = req._session
    await req.initialize()
    assert req._session is session and session is not None and not session.closed
    await req.shutdown()
    assert session.closed
    await req.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await req.do_request(f"http://127.0.0.1:{api.port}/bot{TOKEN}/getMe", "POST")

    async with req:  # re-initialisable after shutdown, like HTTPXRequest
        assert req._session is not session
        status, body = await req.do_request(f"http://127.0.0.1:{api.port}/bot{TOKEN}/getMe", "GET")
        assert status == 200 and json.loads(body)["result"]["id"] == BOT_USER["id"]
    assert req._session is not None and req._session.closed


def test_defaults_mirror_httpx_request() -> None:
    req = AiohttpRequest()
    assert req.read_timeout == 5.0
    assert AiohttpRequest(read_timeout=None).read_timeout is None
    with pytest.raises(TypeError):
        AiohttpRequest(256)  # type: ignore[misc]  # keyword-only


# emulator round trip ------------------------------------------------------------------------


async def test_photo_round_trip_through_emulator() -> None:
    """Upload via sendPhoto, then getFile + download: the largest size is the original bytes."""
    from emulator import Emulator  # local: a broken emulator must not hide transport tests

    buf = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(buf, format="JPEG")
    jpeg = buf.getvalue()
    emu = Emulator(token=TOKEN, port=0)
    await emu.start()
    try:
        emu.add_user(1001, "Alice")
        await emu.user_sends_text(1001, "hi")
        async with Bot(
            TOKEN,
            base_url=emu.api_base_url,
            base_file_url=emu.file_base_url,
            request=AiohttpRequest(),
            get_updates_request=AiohttpRequest(connection_pool_size=1),
        ) as b:
            msg = await b.send_photo(1001, jpeg, filename="pic.jpg")
            tg_file = await b.get_file(msg.photo[-1].file_id)
            assert await tg_file.download_as_bytearray() == bytearray(jpeg)
    finally:
        await emu.stop()


# proxy and trust_env ------------------------------------------------------------------------


class ForwardProxy:
    """A minimal HTTP forward proxy: records each absolute URL it is asked for, then fetches it."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _forward(self, request: web.Request) -> web.Response:
        target = str(request.url)  # absolute-form request line: the URL the client wants
        self.seen.append(target)
        async with aiohttp.ClientSession() as client:  # trust_env off: straight to the target
            async with client.request(
                request.method, target, data=await request.read(), headers={"Content-Type": request.content_type}
            ) as resp:
                return web.Response(status=resp.status, body=await resp.read(), content_type=resp.content_type)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def proxy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ForwardProxy]:
    """The proxy, also named in HTTP_PROXY, so a session that reads the environment would use it."""
    server = ForwardProxy()
    await server.start()
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{server.port}")
    yield server
    await server.stop()


async def _get_me(req: AiohttpRequest, port: int) -> int:
    async with req:
        status, body = await req.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
        assert status == 200 and json.loads(body)["result"]["id"] == BOT_USER["id"]
        assert req._session is not None
        return int(req._session.trust_env)


async def test_default_session_reads_no_environment(api: FakeApi, proxy: ForwardProxy) -> None:
    """No proxy configured: trust_env is off (no .netrc or *_PROXY look-up per request), so even a
    proxy named in HTTP_PROXY is not used and the request goes straight to the Bot API."""
    assert await _get_me(AiohttpRequest(), api.port) == 0
    assert proxy.seen == [] and [c.method for c in api.calls] == ["getMe"]


async def test_configured_proxy_carries_every_request(api: FakeApi, proxy: ForwardProxy) -> None:
    """BOT_API_PROXY: the request goes through that proxy, still without reading the environment."""
    req = AiohttpRequest(proxy=f"http://127.0.0.1:{proxy.port}")
    assert req.proxy == f"http://127.0.0.1:{proxy.port}"
    assert await _get_me(req, api.port) == 0
    assert proxy.seen == [f"http://127.0.0.1:{api.port}/bot{TOKEN}/getMe"] and len(api.calls) == 1


async def test_trust_env_uses_the_environments_proxy(api: FakeApi, proxy: ForwardProxy) -> None:
    """BOT_API_TRUST_ENV: the old behaviour (httpx's default), for operators who set HTTPS_PROXY."""
    assert await _get_me(AiohttpRequest(trust_env=True), api.port) == 1
    assert proxy.seen == [f"http://127.0.0.1:{api.port}/bot{TOKEN}/getMe"]


def test_proxy_settings_reach_the_transport() -> None:
    """Off by default; the settings carry the proxy URL and the opt-in to the environment."""
    from bot.config import Settings

    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert default.bot_api_proxy is None and default.bot_api_trust_env is False
    chosen = Settings(_env_file=None, bot_api_proxy="http://proxy:3128", bot_api_trust_env=True)  # type: ignore[call-arg]
    assert chosen.bot_api_proxy == "http://proxy:3128" and chosen.bot_api_trust_env is True
