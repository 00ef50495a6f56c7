"""The bot's update queue: getUpdates long polling with Telegram's offset rules, and the webhook
settings that exclude polling.

One queue feeds both delivery modes, so switching between polling and a webhook keeps every
unconfirmed update, as on Telegram.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .errors import CONFLICT_OTHER_POLL, CONFLICT_WEBHOOK, ApiError
from .notify import Closed, Notifier

# Update kinds Telegram sends when allowed_updates is not set (or set to []).
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
FIRST_UPDATE_ID = 500_000_001


@dataclass
class WebhookConfig:
    """What setWebhook stored, plus the delivery status getWebhookInfo reports."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class UpdateQueue:
    """Pending updates in order; confirmed ones are dropped."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        self.next_update_id = FIRST_UPDATE_ID
        self.allowed_updates: list[str] | None = None
        self.webhook: WebhookConfig | None = None
        self.notifier = Notifier()
        self._poll_generation = 0
        self.waiting_polls = 0  # getUpdates calls now waiting (lets tests await a parked poll)

    # -- producing -------------------------------------------------------------------------
    def allows(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in DEFAULT_EXCLUDED

    def push(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update of ``kind``; None when allowed_updates filters it out (the id is used)."""
        update_id = self.next_update_id
        self.next_update_id += 1
        if not self.allows(kind):
            return None
        self.pending.append({"update_id": update_id, kind: payload})
        self.notifier.notify()
        return update_id

    def set_allowed(self, allowed: Any) -> None:
        """A list replaces the setting ([] means the default set); None keeps it."""
        if allowed is None:
            return
        if not isinstance(allowed, list):
            raise ApiError(400, "Bad Request: can't parse allowed_updates JSON array")
        self.allowed_updates = [str(a) for a in allowed] or None

    def drop_all(self) -> None:
        self.pending.clear()

    def drop(self, update_id: int) -> None:
        """Forget one update (webhook delivery confirmed it)."""
        self.pending = [u for u in self.pending if u["update_id"] != update_id]

    def confirm(self, offset: int) -> None:
        """Telegram's offset rule: positive drops older ids, -N keeps the newest N, 0 keeps all."""
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    # -- polling ---------------------------------------------------------------------------
    async def get_updates(self, offset: int, limit: int, timeout: float) -> list[dict[str, Any]]:
        """Long poll: answer at once when updates are pending, else wait up to ``timeout`` seconds.

        A newer getUpdates ends a waiting one with 409, as the real server does.
        """
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        self._poll_generation += 1
        generation = self._poll_generation
        self.waiting_polls += 1
        self.confirm(offset)
        limit = min(max(limit, 1), 100)
        timeout = min(max(timeout, 0.0), 50.0)
        self.notifier.notify()  # a waiting older poll wakes up and sees it was superseded

        def ready() -> list[dict[str, Any]] | None:
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_OTHER_POLL)
            if self.webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)
            return [dict(u) for u in self.pending[:limit]] or None

        try:
            return await self.notifier.wait_for(ready, timeout)
        except (TimeoutError, Closed):
            return []
        finally:
            self.waiting_polls -= 1
            self.notifier.notify()

    # -- webhook ---------------------------------------------------------------------------
    def set_webhook(self, config: WebhookConfig, drop_pending: bool) -> None:
        if drop_pending:
            self.drop_all()
        self.webhook = config
        self.notifier.notify()

    def delete_webhook(self, drop_pending: bool) -> bool:
        """Remove the webhook; True if there was one."""
        had = self.webhook is not None
        if drop_pending:
            self.drop_all()
        self.webhook = None
        self.notifier.notify()
        return had

    def record_webhook_error(self, message: str) -> None:
        if self.webhook is not None:
            self.webhook.last_error_date = int(time.time())
            self.webhook.last_error_message = message

    def webhook_info(self) -> dict[str, Any]:
        """The WebhookInfo object."""
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.ip_address:
                info["ip_address"] = self.webhook.ip_address
            if self.webhook.last_error_date is not None:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        if self.allowed_updates:
            info["allowed_updates"] = list(self.allowed_updates)
        return info

    def close(self) -> None:
        self.notifier.close()
