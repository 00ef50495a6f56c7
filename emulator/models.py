"""Plain records the emulator keeps: users, chats, messages, files, callback queries, events.

Bot API objects are stored as the dicts the server would send, so answering a request is a copy,
and PTB parses them with ``de_json`` unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal["message", "edit", "delete", "callback_answer"]


@dataclass
class Event:
    """Something that happened in a chat, for tests and the browser page.

    ``message`` is the whole Message at that moment for "message" and "edit" (and its last state
    for "delete"); ``text``/``show_alert`` carry a callback answer. ``reply_markup`` is the markup
    as the bot sent it, including reply keyboards that a Message object never shows.
    """

    seq: int
    chat_id: int
    kind: EventKind
    message: dict[str, Any] | None = None
    text: str | None = None
    show_alert: bool = False
    reply_markup: dict[str, Any] | None = None
    query_id: str | None = None  # callback_answer: the press it answers (the page shows it only where pressed)

    def to_json(self) -> dict[str, Any]:
        """The event as the control API sends it."""
        return {
            "seq": self.seq,
            "chat_id": self.chat_id,
            "kind": self.kind,
            "message": self.message,
            "text": self.text,
            "show_alert": self.show_alert,
            "reply_markup": self.reply_markup,
            "query_id": self.query_id,
        }


@dataclass
class UserState:
    """A Telegram user the emulator knows, with their relation to the bot."""

    user: dict[str, Any]
    blocked: bool = False

    @property
    def id(self) -> int:
        return int(self.user["id"])


@dataclass
class StoredMessage:
    """One message of a chat: the Bot API dict plus what a client sees beyond it."""

    data: dict[str, Any]
    from_bot: bool
    markup: dict[str, Any] | None = None  # as sent, reply keyboards included
    deleted: bool = False

    @property
    def message_id(self) -> int:
        return int(self.data["message_id"])

    def snapshot(self) -> dict[str, Any]:
        """A deep copy, so callers can never change the stored state."""
        return copy.deepcopy(self.data)


@dataclass
class ChatState:
    """A private chat with one user, or a supergroup the bot is in."""

    chat: dict[str, Any]
    member_ids: list[int] = field(default_factory=list)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    started: bool = False  # private chat: the user has written to the bot
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)  # forum topics by message_thread_id

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    @property
    def is_private(self) -> bool:
        return bool(self.chat["type"] == "private")

    def live_message(self, message_id: int) -> StoredMessage | None:
        """The message if it exists and was not deleted."""
        stored = self.messages.get(message_id)
        if stored is None or stored.deleted:
            return None
        return stored


@dataclass
class FileRecord:
    """Bytes Telegram keeps for a file_id; ``photo_set`` links the sizes of one photo."""

    file_id: str
    file_unique_id: str
    kind: Literal["photo", "document"]
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int = 0
    height: int = 0
    photo_set: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class CallbackQueryState:
    """A button press waiting for ``answerCallbackQuery``."""

    query_id: str
    chat_id: int
    message_id: int
    user_id: int
    answered: bool = False
