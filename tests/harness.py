"""A person in a chat with the bot, driven through the emulator as Telegram would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator import Emulator, Event

REPLY_TIMEOUT = 10.0


@dataclass
class Reply:
    """What the person sees of one bot message (new or edited)."""

    event: Event
    message: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def text(self) -> str:
        return str(self.message.get("text") or self.message.get("caption") or "")

    @property
    def message_id(self) -> int:
        return int(self.message["message_id"])

    @property
    def buttons(self) -> list[str]:
        """Inline button labels, row after row."""
        markup = self.message.get("reply_markup") or {}
        return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def is_album(self) -> bool:
        return bool(self.message.get("media_group_id"))

    @property
    def has_photo(self) -> bool:
        return bool(self.message.get("photo"))

    @property
    def document(self) -> dict[str, Any] | None:
        return self.message.get("document")

    def __contains__(self, fragment: str) -> bool:
        return fragment in self.text


@dataclass
class Person:
    """`await alice.send("/start")`, `await alice.press("Monitor")`, `await alice.next_reply()`."""

    emulator: Emulator
    user_id: int
    first_name: str
    language_code: str = "en"
    chat_id: int = 0
    cursor: int = 0
    toasts: list[str] = field(default_factory=list)
    album: str | None = None  # media_group_id of the album last returned: its other photos are skipped

    def __post_init__(self) -> None:
        self.emulator.add_user(
            self.user_id, self.first_name, language_code=self.language_code, username=self.first_name.lower()
        )
        self.chat_id = self.chat_id or self.user_id

    async def send(self, text: str) -> None:
        await self.emulator.user_sends_text(self.user_id, text, chat_id=self.chat_id)

    async def send_photo(self, data: bytes, caption: str | None = None) -> None:
        await self.emulator.user_sends_photo(self.user_id, data, caption=caption, chat_id=self.chat_id)

    async def send_document(self, data: bytes, file_name: str, mime_type: str) -> None:
        await self.emulator.user_sends_document(self.user_id, data, file_name, mime_type, chat_id=self.chat_id)

    async def share_contact(self, phone_number: str) -> None:
        await self.emulator.user_sends_contact(self.user_id, phone_number, chat_id=self.chat_id)

    def _bot_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.emulator.messages(self.chat_id) if m.get("from", {}).get("is_bot")]

    async def press(self, label: str, *, on: Reply | None = None) -> None:
        """Presses the inline button `label` on `on`, or on the newest message that has it."""
        candidates = [on.message] if on is not None else list(reversed(self._bot_messages()))
        if on is not None:
            candidates = [
                m for m in self.emulator.messages(self.chat_id) if m["message_id"] == on.message_id
            ] or candidates
        for message in candidates:
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label and "callback_data" in button:
                        await self.emulator.user_presses(
                            self.user_id, message["message_id"], button["callback_data"], chat_id=self.chat_id
                        )
                        return
        visible = [
            b["text"]
            for m in candidates[:3]
            for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        raise AssertionError(f"no button {label!r}; buttons on the latest messages: {visible}")

    async def next_reply(self, timeout: float = REPLY_TIMEOUT) -> Reply:
        """The next message the bot sent or edited in this chat, waiting on the emulator's event."""
        while True:
            try:
                event = await self.emulator.wait_event(self.chat_id, self.cursor, timeout)
            except TimeoutError:
                raise AssertionError(f"{self.first_name} got no reply within {timeout}s") from None
            self.cursor = event.seq
            if event.kind == "callback_answer":
                if event.text:
                    self.toasts.append(event.text)
                continue
            if event.kind in ("message", "edit") and event.message and event.message.get("from", {}).get("is_bot"):
                group = event.message.get("media_group_id")
                if group is not None and group == self.album:
                    continue  # an album is one reply to the person
                self.album = group
                return Reply(event, event.message)

    async def expect(self, *fragments: str, timeout: float = REPLY_TIMEOUT) -> Reply:
        """The next reply, which must contain every fragment."""
        reply = await self.next_reply(timeout)
        missing = [f for f in fragments if f not in reply.text]
        assert not missing, f"expected {missing} in reply:\n{reply.text}"
        return reply

    async def next_toast(self, timeout: float = REPLY_TIMEOUT) -> str:
        """The text of the next answered callback query (a toast in the app)."""
        if self.toasts:
            return self.toasts.pop(0)
        while True:
            try:
                event = await self.emulator.wait_event(self.chat_id, self.cursor, timeout)
            except TimeoutError:
                raise AssertionError(f"{self.first_name} got no toast within {timeout}s") from None
            self.cursor = event.seq
            if event.kind == "callback_answer":
                return event.text or ""
