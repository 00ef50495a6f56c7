"""What users do: write, send photos/documents/contacts, press buttons.

Each action stores the user's message (or callback query) and queues the Update a real bot would
receive, so tests and the browser page drive the bot exactly as Telegram clients do.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from .files import FileStore
from .formatting import utf16_len
from .keyboards import has_callback_button
from .models import CallbackQueryState
from .state import EmulatorState

COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities, as Telegram clients mark "/cmd" and "/cmd@bot" words."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for m in COMMAND_RE.finditer(text)
    ]


def send_user_message(
    state: EmulatorState,
    user_id: int,
    chat_id: int | None,
    content: dict[str, Any],
    reply_to: int | None = None,
) -> dict[str, Any]:
    """Store a user's message, record it and queue the "message" update.

    Writing in a private chat starts it and lifts a block, as pressing "Restart" does.
    ``reply_to`` makes it a reply to that message of the chat.
    """
    user = state.user(user_id)
    chat = state.chat_for_user_action(user_id, chat_id)
    if reply_to is not None:
        target = chat.live_message(reply_to)
        if target is None:
            raise ValueError(f"message {reply_to} does not exist in chat {chat.id}")
        quoted = target.snapshot()
        quoted.pop("reply_to_message", None)
        content = {"reply_to_message": quoted, **content}
    if chat.is_private:
        chat.started = True
        user.blocked = False
    stored = state.new_message(chat, user.user, content, from_bot=False)
    state.record_event(chat.id, "message", message=stored.data)
    state.updates.push("message", stored.snapshot())
    return stored.snapshot()


def as_delivered(text: str) -> str:
    """A client sends UTF-8, which cannot hold a lone UTF-16 surrogate: Telegram delivers one as
    U+FFFD (a pair is one character). NUL and other control characters arrive as typed."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def text_content(text: str) -> dict[str, Any]:
    text = as_delivered(text)
    if not text or not text.strip():
        raise ValueError("a user cannot send an empty message")
    if len(text) > 4096:
        raise ValueError("a user message is at most 4096 characters")
    content: dict[str, Any] = {"text": text}
    entities = command_entities(text)
    if entities:
        content["entities"] = entities
    return content


def with_caption(content: dict[str, Any], caption: str | None) -> dict[str, Any]:
    if caption:
        content["caption"] = as_delivered(caption)
    return content


def photo_content(state: EmulatorState, data: bytes, caption: str | None, media_group_id: str | None) -> dict[str, Any]:
    if not data:
        raise ValueError("a photo needs bytes")
    records = state.files.add_photo(data)
    content: dict[str, Any] = {"photo": [FileStore.photo_size_json(r) for r in records]}
    if media_group_id:
        content["media_group_id"] = media_group_id
    return with_caption(content, caption)


def document_content(
    state: EmulatorState, data: bytes, file_name: str, mime_type: str, caption: str | None
) -> dict[str, Any]:
    if not data:
        raise ValueError("a document needs bytes")
    record = state.files.add_document(data, file_name, mime_type)
    return with_caption({"document": FileStore.document_json(record)}, caption)


def contact_content(state: EmulatorState, user_id: int, phone_number: str, first_name: str | None) -> dict[str, Any]:
    user = state.user(user_id).user
    contact: dict[str, Any] = {
        "phone_number": as_delivered(phone_number),
        "first_name": as_delivered(first_name or user["first_name"]),
        "user_id": user_id,
    }
    if not first_name and user.get("last_name"):
        contact["last_name"] = user["last_name"]
    return {"contact": contact}


def edit_user_message(
    state: EmulatorState, user_id: int, chat_id: int | None, message_id: int, text: str
) -> dict[str, Any]:
    """The user edits the text of a message they sent: stored, recorded as an "edit" event, and
    queued as the "edited_message" update Telegram sends (the whole message, with edit_date)."""
    chat = state.chat_for_user_action(user_id, chat_id)
    stored = chat.live_message(message_id)
    if stored is None or stored.from_bot or stored.data.get("from", {}).get("id") != user_id:
        raise ValueError(f"user {user_id} has no message {message_id} in chat {chat.id}")
    if "text" not in stored.data:
        raise ValueError(f"message {message_id} has no text to edit")
    stored.data.pop("entities", None)
    stored.data.update(text_content(text))
    stored.data["edit_date"] = int(time.time())
    state.record_event(chat.id, "edit", message=stored.data)
    state.updates.push("edited_message", stored.snapshot())
    return stored.snapshot()


def press_button(state: EmulatorState, user_id: int, message_id: int, data: str, chat_id: int | None) -> str:
    """Queue a callback_query for a button the message really has; returns the query id."""
    user = state.user(user_id)
    chat = state.chat_for_user_action(user_id, chat_id)
    stored = chat.live_message(message_id)
    if stored is None:
        raise ValueError(f"message {message_id} does not exist in chat {chat.id}")
    if not has_callback_button(stored.data.get("reply_markup"), data):
        raise ValueError(f"message {message_id} has no button with callback_data {data!r}")
    query_id = str(secrets.randbits(63))
    state.callback_queries[query_id] = CallbackQueryState(query_id, chat.id, message_id, user_id)
    chat_instance = str((chat.id * 1_000_003 + state.bot_user["id"]) & 0x7FFFFFFFFFFFFFFF)
    state.updates.push(
        "callback_query",
        {
            "id": query_id,
            "from": dict(user.user),
            "message": stored.snapshot(),
            "chat_instance": chat_instance,
            "data": data,
        },
    )
    return query_id
