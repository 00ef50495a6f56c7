"""Webhook mode: an aiohttp server that takes updates only from whoever knows the secret."""

from __future__ import annotations

import hmac
import logging
from json import JSONDecodeError
from typing import Any

from aiohttp import web
from sqlalchemy import text
from telegram import Update
from telegram.ext import Application

from storage.db import SessionFactory

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_app(application: Application[Any, Any, Any, Any, Any, Any], *, secret: str, path: str, sessions: SessionFactory) -> web.Application:
    """POST `path` feeds PTB's update queue; GET /healthz says whether the database answers."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook call refused: missing or wrong secret from %s", request.remote)
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            payload = await request.json()
        except (JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"ok": False, "error": "body is not JSON"}, status=400)
        update = Update.de_json(payload, application.bot)
        await application.update_queue.put(update)
        return web.json_response({"ok": True})

    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - health checks report, they do not raise
            return web.json_response({"status": "unhealthy", "database": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok", "database": "ok", "running": application.running})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(path, receive)
    app.router.add_get("/healthz", healthz)
    return app
