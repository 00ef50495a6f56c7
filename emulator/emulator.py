"""The :class:`Emulator`: a local Telegram Bot API server plus a Python API to act as users.

Tests and the demo run it in-process on the same event loop as the bot: start it, point PTB at
``api_base_url``/``file_base_url``, make users act, and observe what the bot did through events
(awaited, never polled) and the recorded calls.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import forum
from . import users as actions
from .mailbox import Mailbox, MailServer
from .models import Event
from .server import build_app
from .state import CallHook, EmulatorState
from .webhook import WebhookDeliverer


class Emulator:
    """A Telegram Bot API server on ``host:port`` (0 = any free port) with scripted users."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "redeem_demo_bot",
        bot_id: int | None = None,
        *,
        bot_first_name: str = "Redeem Demo Bot",
        flood_limits: bool = False,
        smtp_port: int | None = None,
    ) -> None:
        if bot_id is None:
            head = token.split(":", 1)[0]
            bot_id = int(head) if head.isdigit() else 123456
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.state = EmulatorState(
            token=token,
            bot_id=bot_id,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            flood_limits=flood_limits,
        )
        self._runner: web.AppRunner | None = None
        self._webhook = WebhookDeliverer(self.state.updates)
        # the local SMTP server and what it received (emulator/mailbox.py); off unless smtp_port is given
        self.mailbox = Mailbox()
        self.mail_server = MailServer(self.mailbox, host, smtp_port) if smtp_port is not None else None

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the HTTP server and start webhook delivery."""
        self._runner = web.AppRunner(build_app(self.state, self.mailbox), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        await self._webhook.start()
        if self.mail_server is not None:
            await self.mail_server.start()

    async def stop(self) -> None:
        """End long polls and waits, stop webhook delivery, close the server."""
        if self.mail_server is not None:
            await self.mail_server.stop()
        self.state.close()
        await self._webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- addresses --------------------------------------------------------------------------
    @property
    def token(self) -> str:
        return self.state.token

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def api_base_url(self) -> str:
        """PTB's ``base_url``: PTB appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        """PTB's ``base_file_url``."""
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def page_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def mailbox_url(self) -> str:
        return f"http://{self.host}:{self.port}/mailbox"

    @property
    def smtp_port(self) -> int:
        if self.mail_server is None:
            raise RuntimeError("the emulator was started without an SMTP server (smtp_port=None)")
        return self.mail_server.port

    @property
    def bot_user(self) -> dict[str, Any]:
        return dict(self.state.bot_user)

    # -- world setup ------------------------------------------------------------------------
    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """A Telegram user (Bot API User dict); they can be messaged once they wrote to the bot."""
        return self.state.add_user(
            user_id, first_name, last_name=last_name, username=username, language_code=language_code
        )

    def add_group(self, chat_id: int, title: str, member_ids: list[int]) -> dict[str, Any]:
        """A supergroup (negative id) with these members and the bot as administrator."""
        return self.state.add_group(chat_id, title, member_ids)

    def block_bot(self, user_id: int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends to them get 403."""
        self.state.user(user_id).blocked = blocked

    # -- users act --------------------------------------------------------------------------
    async def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A text message; "/cmd" words get bot_command entities; ``reply_to`` quotes a message;
        ``thread_id`` writes it in that forum topic."""
        content = {**self._in_thread(user_id, chat_id, thread_id, reply_to), **actions.text_content(text)}
        return actions.send_user_message(self.state, user_id, chat_id, content, reply_to)

    def _in_thread(
        self, user_id: int, chat_id: int | None, thread_id: int | None, reply_to: int | None
    ) -> dict[str, Any]:
        if thread_id is None:
            return {}
        chat = self.state.chat_for_user_action(user_id, chat_id)
        return forum.user_thread_content(chat, thread_id, quoting=reply_to is not None)

    def make_forum(self, chat_id: int, enabled: bool = True) -> None:
        """Turns topics on (or off) in a supergroup: its Chat gets ``is_forum``."""
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}")
        forum.enable(chat, enabled)

    def topics(self, chat_id: int) -> dict[int, dict[str, Any]]:
        """The forum topics of a chat by message_thread_id (copies)."""
        chat = self.state.chats.get(chat_id)
        return {k: dict(v) for k, v in chat.topics.items()} if chat is not None else {}

    async def user_sends_photo(
        self,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        media_group_id: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A photo stored as sizes (smallest first, the original bytes last)."""
        content = {
            **self._in_thread(user_id, chat_id, thread_id, reply_to),
            **actions.photo_content(self.state, data, caption, media_group_id),
        }
        return actions.send_user_message(self.state, user_id, chat_id, content, reply_to)

    async def user_sends_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        content = actions.document_content(self.state, data, file_name, mime_type, caption)
        return actions.send_user_message(self.state, user_id, chat_id, content, reply_to)

    async def user_sends_contact(
        self,
        user_id: int,
        phone_number: str,
        *,
        first_name: str | None = None,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """A shared contact whose ``user_id`` is the sender (what a request_contact button sends)."""
        content = actions.contact_content(self.state, user_id, phone_number, first_name)
        return actions.send_user_message(self.state, user_id, chat_id, content)

    async def user_presses(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> str:
        """Press an inline button the message really shows; returns the callback query id."""
        return actions.press_button(self.state, user_id, message_id, callback_data, chat_id)

    async def user_edits_text(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user edits a text message they sent: the bot gets an "edited_message" update."""
        return actions.edit_user_message(self.state, user_id, chat_id, message_id, text)

    # -- observation ------------------------------------------------------------------------
    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Current state of every message of the chat, in order, deleted ones left out."""
        return [m.snapshot() for m in self.state.messages_of(chat_id)]

    def events(self, chat_id: int) -> list[Event]:
        return self.state.events_for(chat_id)

    @property
    def last_seq(self) -> int:
        """The newest event's seq (0 before any): a handy ``after`` for :meth:`wait_event`."""
        return self.state.last_seq

    async def wait_event(self, chat_id: int, after: int, timeout: float = 5.0, *, from_bot: bool = False) -> Event:
        """The first event of the chat with ``seq > after``; ``from_bot`` skips users' messages.

        Raises ``asyncio.TimeoutError`` when none comes within ``timeout`` seconds.
        """

        def first() -> Event | None:
            for event in self.state.events_for(chat_id, after):
                if from_bot and event.message is not None and not event.message["from"]["is_bot"]:
                    continue
                return event
            return None

        return await self.state.event_notifier.wait_for(first, timeout)

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """The reply keyboard the chat currently shows (the last one sent, unless removed)."""
        current: dict[str, Any] | None = None
        chat = self.state.chats.get(chat_id)
        for stored in chat.messages.values() if chat else []:
            markup = stored.markup or {}
            if "keyboard" in markup:
                current = markup
            elif markup.get("remove_keyboard"):
                current = None
        return current

    def file_bytes(self, file_id: str) -> bytes:
        record = self.state.files.get(file_id)
        if record is None:
            raise KeyError(f"unknown file_id {file_id!r}")
        return record.data

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every Bot API call as (method, params), in order."""
        return self.state.calls

    @property
    def send_log(self) -> list[tuple[float, str, int]]:
        """(time.monotonic(), method, chat_id) of each successful send or edit."""
        return self.state.send_log

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """setMyCommands lists keyed by (scope, language_code); chat scopes read "chat:<id>"."""
        return self.state.commands

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by getUpdates or delivered to the webhook."""
        return [dict(u) for u in self.state.updates.pending]

    # -- fault injection --------------------------------------------------------------------
    def fail(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int | None = None,
        seconds: float | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Answer ``method`` ("*" = any but getUpdates) with this error, ``times`` times or for
        ``seconds`` (both None: until :meth:`clear_faults`)."""
        self.state.faults.add(
            method,
            error_code=error_code,
            description=description,
            retry_after=retry_after,
            times=times,
            seconds=seconds,
            chat_id=chat_id,
        )

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def on_call(self, hook: CallHook) -> None:
        """Runs ``hook(method, params, delivered)`` on every Bot API call, before it takes effect
        (``delivered=False``; return True to drop it) and after (``delivered=True``)."""
        self.state.call_hooks.append(hook)
