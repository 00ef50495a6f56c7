"""Bot API methods that deliver updates: getUpdates and the webhook settings."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from .answer import Answer, Handler
from .errors import bad_request
from .params import Params
from .state import EmulatorState
from .updates import WebhookConfig

SECRET_RE = re.compile(r"[A-Za-z0-9_-]*")
ALLOWED_ERROR = "can't parse allowed_updates JSON array"


async def get_updates(state: EmulatorState, p: Params) -> Any:
    queue = state.updates
    allowed = p.json("allowed_updates", ALLOWED_ERROR)
    if queue.webhook is None:
        queue.set_allowed(allowed)
    offset = p.integer("offset", 0) or 0
    limit = p.integer("limit", 100)
    timeout = p.integer("timeout", 0)
    return await queue.get_updates(offset, 100 if limit is None else limit, float(timeout or 0))


async def set_webhook(state: EmulatorState, p: Params) -> Any:
    """Validate and store the webhook; plain http is allowed, since the bot runs locally."""
    url = (p.string("url") or "").strip()
    drop = p.boolean("drop_pending_updates")
    if not url:
        had = state.updates.delete_webhook(drop)
        return Answer(True, "Webhook was deleted" if had else "Webhook is already deleted")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.string("secret_token") or ""
    if len(secret) > 256:
        raise bad_request("secret token is too long")
    if not SECRET_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    state.updates.set_allowed(p.json("allowed_updates", ALLOWED_ERROR))
    max_connections = min(max(p.integer("max_connections", 40) or 40, 1), 100)
    previous = state.updates.webhook
    same = previous is not None and previous.url == url and previous.secret_token == (secret or None)
    config = WebhookConfig(
        url=url,
        secret_token=secret or None,
        max_connections=max_connections,
        ip_address=p.string("ip_address") or None,
    )
    state.updates.set_webhook(config, drop)
    return Answer(True, "Webhook is already set" if same else "Webhook was set")


async def delete_webhook(state: EmulatorState, p: Params) -> Any:
    had = state.updates.delete_webhook(p.boolean("drop_pending_updates"))
    return Answer(True, "Webhook was deleted" if had else "Webhook is already deleted")


async def get_webhook_info(state: EmulatorState, p: Params) -> Any:
    return state.updates.webhook_info()


METHODS: dict[str, Handler] = {
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
