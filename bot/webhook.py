"""Webhook mode: an aiohttp server that takes updates only from whoever knows the secret.

Telegram forgets an update once the webhook answered 2xx, so the answer waits until the update
was processed, its unit of work committed and its replies sent: a process that dies before
that leaves the update with Telegram, which delivers it again (and storage.updates recognises
it if it had been committed after all). A handler that fails still gets 200, after the error
handler told the user: a poison update must not come back forever. aiohttp does not cancel a
handler whose caller hung up (handler_cancellation is off), so an update Telegram stopped
waiting for is still finished; its retry is then recognised as a duplicate.
"""

from __future__ import annotations

import hmac
import logging
from json import JSONDecodeError
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.clean_input import clean_payload
from storage.db import SessionFactory, ping

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class NotAnUpdate(ValueError):
    """Valid JSON that is not a Telegram update."""


def parse_update(payload: object, application: AnyApplication) -> Update:
    """The Update in a request body; NotAnUpdate says why not."""
    if not isinstance(payload, dict):
        raise NotAnUpdate("body is not a JSON object")
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        raise NotAnUpdate("update_id is missing or not a non-negative integer")
    try:
        update = Update.de_json(clean_payload(payload), application.bot)  # no NUL or lone surrogate gets in
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise NotAnUpdate(f"not a Telegram update ({type(exc).__name__})") from exc
    return update


async def process(application: AnyApplication, update: Update) -> None:
    """Runs the update through the application's update processor, as polling would, so one
    user's updates stay in order with each other; returns once its handlers are done."""
    try:
        await application.update_processor.process_update(update, application.process_update(update))
    except Exception:  # PTB already routes handler errors to the error handler; this is the rest
        log.exception("update %s could not be processed", update.update_id)


def webhook_app(application: AnyApplication, *, secret: str, path: str, sessions: SessionFactory) -> web.Application:
    """POST `path` processes one update and answers when it is done; GET /healthz says whether
    the database answers."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook call refused: missing or wrong secret from %s", request.remote)
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            update = parse_update(await request.json(), application)
        except (JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"ok": False, "error": "body is not JSON"}, status=400)
        except NotAnUpdate as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        await process(application, update)
        return web.json_response({"ok": True})

    async def healthz(_request: web.Request) -> web.Response:
        try:
            await ping(sessions)
        except Exception as exc:  # noqa: BLE001 - health checks report, they do not raise
            return web.json_response({"status": "unhealthy", "database": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok", "database": "ok", "running": application.running})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(path, receive)
    app.router.add_get("/healthz", healthz)
    return app
