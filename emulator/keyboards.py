"""Validate ``reply_markup`` like the Bot API: button data, URLs and keyboard size."""

from __future__ import annotations

from typing import Any

from .errors import BUTTON_DATA_INVALID, bad_request

MAX_BUTTONS_PER_ROW = 8
MAX_BUTTONS = 100
INLINE_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
BAD_MARKUP = "can't parse reply keyboard markup JSON object"
TOO_LONG = "REPLY_MARKUP_TOO_LONG"


def _rows(value: Any, field: str) -> list[list[Any]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise bad_request(f'Field "{field}" must be of type Array')
    if any(len(row) > MAX_BUTTONS_PER_ROW for row in value) or sum(map(len, value)) > MAX_BUTTONS:
        raise bad_request(TOO_LONG)
    return value


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: Object expected")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_EMPTY")
    if not any(key in button for key in INLINE_ACTIONS):
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request(BUTTON_DATA_INVALID)
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def _reply_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_EMPTY")
    return dict(button)


def parse_reply_markup(raw: Any) -> dict[str, Any] | None:
    """The markup normalised (string buttons become objects), or None when absent."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request(BAD_MARKUP)
    if "inline_keyboard" in raw:
        rows = _rows(raw["inline_keyboard"], "inline_keyboard")
        return {"inline_keyboard": [[_inline_button(b) for b in row] for row in rows]}
    if "keyboard" in raw:
        rows = _rows(raw["keyboard"], "keyboard")
        markup = {k: v for k, v in raw.items() if k != "keyboard"}
        markup["keyboard"] = [[_reply_button(b) for b in row] for row in rows]
        return markup
    if raw.get("remove_keyboard") is True:
        return dict(raw)
    if raw.get("force_reply") is True:
        return dict(raw)
    raise bad_request(BAD_MARKUP)


def inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """What Message.reply_markup shows: only a non-empty inline keyboard."""
    if markup and markup.get("inline_keyboard") and any(markup["inline_keyboard"]):
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def has_callback_button(markup: dict[str, Any] | None, data: str) -> bool:
    """Whether a user could press a button carrying ``data`` on this markup."""
    if not markup:
        return False
    return any(b.get("callback_data") == data for row in markup.get("inline_keyboard", []) for b in row)
