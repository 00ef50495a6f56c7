"""Everything the emulated Telegram knows: bot, users, chats, messages, files, updates, events.

Bot API handlers, the user-side actions and the control API all work on one
:class:`EmulatorState`; it has no HTTP in it, so it is easy to reason about and to test.
"""

from __future__ import annotations

import bisect
import copy
import math
import time
from collections.abc import Callable
from typing import Any

from .errors import BOT_BLOCKED, CANT_INITIATE, CHAT_NOT_FOUND, bad_request, forbidden, too_many_requests
from .faults import FaultInjector
from .files import FileStore
from .models import CallbackQueryState, ChatState, Event, EventKind, FileRecord, StoredMessage, UserState
from .notify import Notifier
from .updates import UpdateQueue

# Telegram's documented flood limits, enforced only with flood_limits=True.
CallHook = Callable[[str, dict[str, Any], bool], bool | None]
"""(method, params, delivered) -> True to drop the call: tests use it to kill a bot mid-request."""
GROUP_PER_MINUTE = 20
GLOBAL_PER_SECOND = 30


class EmulatorState:
    """The in-memory Telegram world of one emulator."""

    def __init__(
        self,
        *,
        token: str,
        bot_id: int,
        bot_username: str,
        bot_first_name: str,
        flood_limits: bool = False,
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.users: dict[int, UserState] = {}
        self.chats: dict[int, ChatState] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.faults = FaultInjector()
        self.events: list[Event] = []
        self._chat_events: dict[int, list[Event]] = {}  # per chat, in seq order: waiters look here
        self.event_notifier = Notifier()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.send_log: list[tuple[float, str, int]] = []
        self.call_hooks: list[CallHook] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.callback_queries: dict[str, CallbackQueryState] = {}
        self.flood_limits = flood_limits
        self._seq = 0

    # -- users and chats --------------------------------------------------------------------
    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """Create (or update) a user; their private chat exists once they write to the bot."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        existing = self.users.get(user_id)
        if existing is None:
            self.users[user_id] = UserState(user=user)
        else:
            existing.user = user
        chat = self.chats.get(user_id)
        if chat is not None:
            chat.chat = self._private_chat_json(user)
        return dict(user)

    def add_group(self, chat_id: int, title: str, member_ids: list[int]) -> dict[str, Any]:
        """A supergroup with the bot as an administrator (so it sees every message)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        unknown = [m for m in member_ids if m not in self.users]
        if unknown:
            raise ValueError(f"unknown users {unknown}: add_user them first")
        chat_json = {"id": chat_id, "type": "supergroup", "title": title}
        existing = self.chats.get(chat_id)
        if existing is None:
            self.chats[chat_id] = ChatState(chat=chat_json, member_ids=list(member_ids))
        else:
            existing.chat = chat_json
            existing.member_ids = list(member_ids)
        return dict(chat_json)

    @staticmethod
    def _private_chat_json(user: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def user(self, user_id: int) -> UserState:
        state = self.users.get(user_id)
        if state is None:
            raise ValueError(f"unknown user {user_id}: call add_user first")
        return state

    def chat_for_user_action(self, user_id: int, chat_id: int | None) -> ChatState:
        """The chat a user writes in: their private chat (created) or a group they belong to."""
        user = self.user(user_id)
        if chat_id is None or chat_id == user_id:
            chat = self.chats.get(user_id)
            if chat is None:
                chat = ChatState(chat=self._private_chat_json(user.user))
                self.chats[user_id] = chat
            return chat
        chat = self.chats.get(chat_id)
        if chat is None or chat.is_private:
            raise ValueError(f"chat {chat_id} is not a group the emulator knows")
        if user_id not in chat.member_ids:
            raise ValueError(f"user {user_id} is not a member of chat {chat_id}")
        return chat

    def chat_for_bot(self, chat_id: int) -> ChatState:
        """The chat a bot call targets, refused as Telegram refuses it."""
        chat = self.chats.get(chat_id)
        if chat_id > 0:
            user = self.users.get(chat_id)
            if user is None:
                raise bad_request(CHAT_NOT_FOUND)
            if user.blocked:
                raise forbidden(BOT_BLOCKED)
            if chat is None or not chat.started:
                raise forbidden(CANT_INITIATE)
            return chat
        if chat is None:
            raise bad_request(CHAT_NOT_FOUND)
        return chat

    # -- messages and events -----------------------------------------------------------------
    def new_message(
        self,
        chat: ChatState,
        sender: dict[str, Any],
        content: dict[str, Any],
        *,
        from_bot: bool,
        markup: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """Store a message with the chat's next message_id."""
        data: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "from": dict(sender),
            "chat": dict(chat.chat),
            "date": int(time.time()),
        }
        data.update(content)
        chat.next_message_id += 1
        stored = StoredMessage(data=data, from_bot=from_bot, markup=markup)
        chat.messages[stored.message_id] = stored
        return stored

    def record_event(
        self,
        chat_id: int,
        kind: EventKind,
        *,
        message: dict[str, Any] | None = None,
        text: str | None = None,
        show_alert: bool = False,
        reply_markup: dict[str, Any] | None = None,
        query_id: str | None = None,
    ) -> Event:
        """Append an event and wake whoever waits for one."""
        self._seq += 1
        event = Event(
            seq=self._seq,
            chat_id=chat_id,
            kind=kind,
            message=copy.deepcopy(message),
            text=text,
            show_alert=show_alert,
            reply_markup=copy.deepcopy(reply_markup),
            query_id=query_id,
        )
        self.events.append(event)
        self._chat_events.setdefault(chat_id, []).append(event)
        self.event_notifier.notify()
        return event

    @property
    def last_seq(self) -> int:
        return self._seq

    def run_call_hooks(self, method: str, params: dict[str, Any], *, delivered: bool) -> bool:
        """Each hook sees a call before (`delivered=False`) and after it took effect; a hook that
        returns True before drops the call, as if the bot had died before it arrived."""
        drop = False
        for hook in list(self.call_hooks):
            drop = bool(hook(method, params, delivered)) or drop
        return drop and not delivered

    def events_for(self, chat_id: int, after: int = 0) -> list[Event]:
        """The chat's events after `after`: a binary search, so waiting stays cheap with a long log."""
        events = self._chat_events.get(chat_id, [])
        return events[bisect.bisect_right(events, after, key=lambda e: e.seq) :]

    def messages_of(self, chat_id: int) -> list[StoredMessage]:
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if not m.deleted]

    # -- flood control -----------------------------------------------------------------------
    def check_flood(self, chat: ChatState) -> None:
        """With flood_limits on: 20 messages a minute per group, 30 a second overall."""
        if not self.flood_limits:
            return
        now = time.monotonic()
        recent = [t for t, _, _ in self.send_log if now - t < 1.0]
        if len(recent) >= GLOBAL_PER_SECOND:
            raise too_many_requests(max(1, math.ceil(1.0 - (now - min(recent)))))
        if not chat.is_private:
            in_minute = [t for t, _, c in self.send_log if c == chat.id and now - t < 60.0]
            if len(in_minute) >= GROUP_PER_MINUTE:
                raise too_many_requests(max(1, math.ceil(60.0 - (now - min(in_minute)))))

    def log_send(self, method: str, chat_id: int) -> None:
        self.send_log.append((time.monotonic(), method, chat_id))

    # -- kept across restarts (emulator/persist.py writes this to disk) -----------------------
    def saved(self) -> dict[str, Any]:
        """What a restarted emulator needs to look unchanged to the page and the bot: users, chats
        with their messages, files (without their bytes), the commands menu, and the counters (event
        seq, update_id, file number), so an open tab and the bot's duplicate-update check go on."""
        return {
            "users": [{"user": u.user, "blocked": u.blocked} for u in self.users.values()],
            "chats": [
                {
                    "chat": c.chat,
                    "member_ids": c.member_ids,
                    "next_message_id": c.next_message_id,
                    "started": c.started,
                    "messages": [
                        {"data": m.data, "from_bot": m.from_bot, "markup": m.markup, "deleted": m.deleted}
                        for m in c.messages.values()
                    ],
                }
                for c in self.chats.values()
            ],
            "files": [
                {
                    "file_id": r.file_id,
                    "file_unique_id": r.file_unique_id,
                    "kind": r.kind,
                    "file_path": r.file_path,
                    "mime_type": r.mime_type,
                    "file_name": r.file_name,
                    "width": r.width,
                    "height": r.height,
                    "photo_set": r.photo_set,
                }
                for r in self.files.by_id.values()
            ],
            "commands": [
                {"scope": scope, "language_code": lang, "commands": cmds}
                for (scope, lang), cmds in self.commands.items()
            ],
            "seq": self._seq,
            "next_update_id": self.updates.next_update_id,
            "file_counter": self.files.counter,
        }

    def restore(self, saved: dict[str, Any], file_bytes: Callable[[str], bytes | None]) -> None:
        """The state `saved()` gave, with each file's bytes from `file_bytes(file_id)` (files whose
        bytes are gone are left out). Users and chats set up before stay unless saved ones replace them."""
        for item in saved.get("users", []):
            self.users[int(item["user"]["id"])] = UserState(user=item["user"], blocked=bool(item["blocked"]))
        for item in saved.get("chats", []):
            chat = ChatState(
                chat=item["chat"],
                member_ids=[int(m) for m in item["member_ids"]],
                next_message_id=int(item["next_message_id"]),
                started=bool(item["started"]),
            )
            for m in item["messages"]:
                stored = StoredMessage(data=m["data"], from_bot=bool(m["from_bot"]), markup=m["markup"])
                stored.deleted = bool(m["deleted"])
                chat.messages[stored.message_id] = stored
            self.chats[chat.id] = chat
        for item in saved.get("files", []):
            data = file_bytes(str(item["file_id"]))
            if data is not None:
                self.files.restore(FileRecord(data=data, **item))
        for item in saved.get("commands", []):
            self.commands[(str(item["scope"]), str(item["language_code"]))] = item["commands"]
        self._seq = max(self._seq, int(saved.get("seq", 0)))
        self.updates.next_update_id = max(self.updates.next_update_id, int(saved.get("next_update_id", 0)))
        self.files.counter = max(self.files.counter, int(saved.get("file_counter", 0)))

    def close(self) -> None:
        self.updates.close()
        self.event_notifier.close()
