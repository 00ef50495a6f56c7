"""Bot API errors with the exact descriptions the real server sends.

Every refusal travels as an :class:`ApiError`, so one place (the HTTP layer) turns it into the
``{"ok": false, ...}`` envelope with a matching HTTP status, as api.telegram.org does.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API refusal: ``error_code`` is also the HTTP status."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        """The error envelope exactly as Telegram writes it."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(text: str) -> ApiError:
    """A 400 with the ``Bad Request: `` prefix every such description carries."""
    return ApiError(400, f"Bad Request: {text}")


def forbidden(text: str) -> ApiError:
    """A 403 with the ``Forbidden: `` prefix."""
    return ApiError(403, f"Forbidden: {text}")


def too_many_requests(retry_after: int) -> ApiError:
    """A flood-control refusal with ``parameters.retry_after`` (the header is added by the server)."""
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        parameters={"retry_after": retry_after},
    )


# Descriptions used in more than one module (the facts table in shared/reference).
UNAUTHORIZED = "Unauthorized"
METHOD_NOT_FOUND = "Not Found: method not found"
CHAT_NOT_FOUND = "chat not found"
BOT_BLOCKED = "bot was blocked by the user"
CANT_INITIATE = "bot can't initiate conversation with a user"
TEXT_EMPTY = "message text is empty"
TEXT_MUST_BE_NON_EMPTY = "text must be non-empty"
TEXT_TOO_LONG = "message is too long"
CAPTION_TOO_LONG = "message caption is too long"
UNSUPPORTED_PARSE_MODE = "unsupported parse_mode"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same"
    " as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "message to edit not found"
DELETE_NOT_FOUND = "message to delete not found"
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
WRONG_FILE_ID = "wrong file identifier/HTTP URL specified"
FILE_TOO_BIG = "file is too big"
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
