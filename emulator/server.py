"""The HTTP face of the emulator: Bot API at ``/bot<token>/<method>``, files at
``/file/bot<token>/<path>``, the chat page at ``/`` and the control API under ``/_emu/``.

Envelope and status codes follow api.telegram.org: the HTTP status equals ``error_code`` and a 429
also carries a ``Retry-After`` header, because PTB chooses its exception from those.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from .answer import Answer
from .api import lookup
from .control import add_control_routes
from .errors import METHOD_NOT_FOUND, UNAUTHORIZED, ApiError
from .mailbox import Mailbox, add_mailbox_routes
from .params import Params, read_params
from .state import EmulatorState

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")
CLIENT_MAX_SIZE = 64 * 1024 * 1024  # above the 50 MB upload limit, so we answer the 413 ourselves
STATE_KEY = web.AppKey("emulator_state", EmulatorState)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers, dumps=_dumps)


def error_response(error: ApiError) -> web.Response:
    headers: dict[str, str] = {}
    if error.parameters and "retry_after" in error.parameters:
        headers["Retry-After"] = str(error.parameters["retry_after"])
    return json_response(error.to_json(), error.error_code, headers)


def _chat_id_of(params: Params) -> int | None:
    try:
        return int(params.values["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


async def bot_api(request: web.Request) -> web.Response:
    """One Bot API call: token, then injected faults, then the method itself."""
    state = request.app[STATE_KEY]
    if request.match_info["token"] != state.token:
        return error_response(ApiError(401, UNAUTHORIZED))
    name, handler = lookup(request.match_info["method"])
    try:
        params = await read_params(request)
    except ApiError as error:
        state.calls.append((name, {}))
        return error_response(error)
    state.calls.append((name, params.for_log()))
    fault = state.faults.match(name, _chat_id_of(params))
    if fault is not None:
        return error_response(fault)
    if handler is None:
        return error_response(ApiError(404, METHOD_NOT_FOUND))
    if state.run_call_hooks(name, params.values, delivered=False):
        return error_response(ApiError(500, "Internal Server Error"))  # dropped: as if it never arrived
    try:
        result = await handler(state, params)
    except ApiError as error:
        return error_response(error)
    except Exception:  # a bug in the emulator must not look like a Telegram answer
        log.exception("emulator failed on %s", name)
        return error_response(ApiError(500, "Internal Server Error"))
    state.run_call_hooks(name, params.values, delivered=True)
    body: dict[str, Any] = {"ok": True}
    if isinstance(result, Answer):
        body["result"] = result.result
        if result.description:
            body["description"] = result.description
    else:
        body["result"] = result
    return json_response(body)


async def download_file(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    if request.match_info["token"] != state.token:
        return error_response(ApiError(401, UNAUTHORIZED))
    record = state.files.by_path.get(request.match_info["path"])
    if record is None:
        return error_response(ApiError(404, "Not Found: file not found"))
    spoiled = state.faults.downloads.match(record.file_path)
    if spoiled is not None:
        status, body, content_type = spoiled.response(record.data)
        return web.Response(status=status, body=body, content_type=content_type)
    return web.Response(body=record.data, content_type=record.mime_type or "application/octet-stream")


async def not_found(request: web.Request) -> web.Response:
    return error_response(ApiError(404, "Not Found"))


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})


def build_app(state: EmulatorState, mailbox: Mailbox | None = None) -> web.Application:
    app = web.Application(client_max_size=CLIENT_MAX_SIZE)
    app[STATE_KEY] = state
    app.router.add_get("/", index)
    if mailbox is not None:
        add_mailbox_routes(app, mailbox)
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    app.router.add_get("/file/bot{token}/{path:.+}", download_file)
    add_control_routes(app, state)
    app.router.add_route("*", "/bot{rest:.*}", not_found)
    return app
