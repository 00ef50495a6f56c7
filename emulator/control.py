"""HTTP control API under ``/_emu/`` for the browser page (and for scripts).

It lets a person act as Telegram users: read a chat, long-poll its events, write, edit, press buttons,
upload files, share a contact, add users, and inject faults. Answers are plain JSON (not the Bot
API envelope); mistakes come back as 400 ``{"error": ...}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import users as actions
from .media import sniff_image_mime
from .notify import Closed
from .state import EmulatorState

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _guarded(handler: RouteHandler) -> RouteHandler:
    """Turn bad input (ValueError/KeyError/TypeError) into a 400 with its reason."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (ValueError, KeyError, TypeError) as exc:
            return _json({"error": str(exc) or exc.__class__.__name__}, 400)

    return wrapper


class ControlApi:
    """Route handlers bound to one emulator state."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")
            return body
        return dict(await request.post())

    def _message_view(self, chat_id: int) -> list[dict[str, Any]]:
        return [
            {"message": m.snapshot(), "reply_markup": m.markup, "from_bot": m.from_bot}
            for m in self.state.messages_of(chat_id)
        ]

    async def get_state(self, request: web.Request) -> web.StreamResponse:
        s = self.state
        chats = s.chats
        return _json(
            {
                "bot": s.bot_user,
                "users": [
                    {
                        **u.user,
                        "blocked": u.blocked,
                        "started": u.id in chats and chats[u.id].started,
                    }
                    for u in s.users.values()
                ],
                "groups": [{**c.chat, "member_ids": c.member_ids} for c in chats.values() if not c.is_private],
                "webhook": s.updates.webhook_info(),
                "commands": [
                    {"scope": scope, "language_code": lang, "commands": cmds}
                    for (scope, lang), cmds in s.commands.items()
                ],
                "faults": len(s.faults.faults),
                "last_seq": s.last_seq,
            }
        )

    async def add_user(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        user = self.state.add_user(
            int(body["id"]),
            str(body["first_name"]),
            last_name=body.get("last_name") or None,
            username=body.get("username") or None,
            language_code=body.get("language_code") or "en",
        )
        return _json(user)

    async def add_group(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        members = [int(m) for m in body.get("member_ids", [])]
        return _json(self.state.add_group(int(body["id"]), str(body["title"]), members))

    async def block(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        user = self.state.user(int(request.match_info["user_id"]))
        user.blocked = bool(body.get("blocked", True))
        return _json({"blocked": user.blocked})

    async def messages(self, request: web.Request) -> web.StreamResponse:
        chat_id = int(request.match_info["chat_id"])
        chat = self.state.chats.get(chat_id)
        return _json(
            {
                "chat": chat.chat if chat else None,
                "messages": self._message_view(chat_id),
                "last_seq": self.state.last_seq,
            }
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Long poll: the chat's events after ``after``, waiting up to ``timeout`` (max 50) s."""
        chat_id = int(request.match_info["chat_id"])
        after = int(request.query.get("after", "0"))
        timeout = min(max(float(request.query.get("timeout", "25")), 0.0), 50.0)
        try:
            found = await self.state.event_notifier.wait_for(
                lambda: self.state.events_for(chat_id, after) or None, timeout
            )
        except (TimeoutError, Closed):
            found = []
        return _json([e.to_json() for e in found])

    def _chat_arg(self, request: web.Request, user_id: int) -> int | None:
        chat_id = int(request.match_info["chat_id"])
        return None if chat_id == user_id else chat_id

    async def send(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        user_id = int(body["user_id"])
        content = actions.text_content(str(body["text"]))
        reply_to = int(body["reply_to_message_id"]) if body.get("reply_to_message_id") else None
        message = actions.send_user_message(self.state, user_id, self._chat_arg(request, user_id), content, reply_to)
        return _json(message)

    async def edit(self, request: web.Request) -> web.StreamResponse:
        """``{user_id, message_id, text}``: the user edits a text message of theirs."""
        body = await self._body(request)
        user_id = int(body["user_id"])
        message = actions.edit_user_message(
            self.state, user_id, self._chat_arg(request, user_id), int(body["message_id"]), str(body["text"])
        )
        return _json(message)

    async def press(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        user_id = int(body["user_id"])
        query_id = actions.press_button(
            self.state, user_id, int(body["message_id"]), str(body["data"]), self._chat_arg(request, user_id)
        )
        return _json({"callback_query_id": query_id})

    async def upload(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        user_id = int(str(form["user_id"]))
        upload = form["file"]
        if not isinstance(upload, web.FileField):
            raise ValueError("the file field must be a file")
        data = upload.file.read()
        caption = str(form.get("caption") or "") or None
        if str(form.get("kind", "photo")) == "photo":
            content = actions.photo_content(self.state, data, caption, None)
        else:
            mime = upload.content_type or "application/octet-stream"
            content = actions.document_content(self.state, data, upload.filename or "file", mime, caption)
        message = actions.send_user_message(self.state, user_id, self._chat_arg(request, user_id), content)
        return _json(message)

    async def contact(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        user_id = int(body["user_id"])
        content = actions.contact_content(
            self.state, user_id, str(body["phone_number"]), body.get("first_name") or None
        )
        message = actions.send_user_message(self.state, user_id, self._chat_arg(request, user_id), content)
        return _json(message)

    async def file(self, request: web.Request) -> web.StreamResponse:
        record = self.state.files.get(request.match_info["file_id"])
        if record is None:
            return _json({"error": "unknown file_id"}, 404)
        if record.kind == "photo":
            content_type = sniff_image_mime(record.data)
        else:
            content_type = record.mime_type or "application/octet-stream"
        headers = {}
        if record.file_name:
            headers["Content-Disposition"] = f'inline; filename="{record.file_name}"'
        return web.Response(body=record.data, content_type=content_type, headers=headers)

    async def add_fault(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        self.state.faults.add(
            str(body.get("method", "*")),
            error_code=int(body["error_code"]),
            description=str(body["description"]),
            retry_after=int(body["retry_after"]) if body.get("retry_after") is not None else None,
            times=int(body["times"]) if body.get("times") is not None else None,
            seconds=float(body["seconds"]) if body.get("seconds") is not None else None,
            chat_id=int(body["chat_id"]) if body.get("chat_id") is not None else None,
        )
        return _json({"faults": len(self.state.faults.faults)})

    async def add_download_fault(self, request: web.Request) -> web.StreamResponse:
        """``{kind, times?, file_path?}``: spoil the next download(s); ``times: null`` until cleared."""
        body = await self._body(request)
        times = body.get("times", 1)
        self.state.faults.downloads.add(
            str(body["kind"]),
            times=None if times is None else int(times),
            file_path=str(body["file_path"]) if body.get("file_path") else None,
        )
        return _json({"download_faults": len(self.state.faults.downloads.faults)})

    async def clear_faults(self, request: web.Request) -> web.StreamResponse:
        self.state.faults.clear()
        return _json({"faults": 0})

    async def calls(self, request: web.Request) -> web.StreamResponse:
        limit = int(request.query.get("limit", "100"))
        return _json([{"method": m, "params": p} for m, p in self.state.calls[-limit:]])


def add_control_routes(app: web.Application, state: EmulatorState) -> None:
    api = ControlApi(state)
    r = app.router
    r.add_get("/_emu/state", _guarded(api.get_state))
    r.add_post("/_emu/users", _guarded(api.add_user))
    r.add_post("/_emu/users/{user_id}/block", _guarded(api.block))
    r.add_post("/_emu/groups", _guarded(api.add_group))
    r.add_get("/_emu/chats/{chat_id}/messages", _guarded(api.messages))
    r.add_get("/_emu/chats/{chat_id}/events", _guarded(api.events))
    r.add_post("/_emu/chats/{chat_id}/send", _guarded(api.send))
    r.add_post("/_emu/chats/{chat_id}/edit", _guarded(api.edit))
    r.add_post("/_emu/chats/{chat_id}/press", _guarded(api.press))
    r.add_post("/_emu/chats/{chat_id}/upload", _guarded(api.upload))
    r.add_post("/_emu/chats/{chat_id}/contact", _guarded(api.contact))
    r.add_get("/_emu/files/{file_id}", _guarded(api.file))
    r.add_post("/_emu/faults", _guarded(api.add_fault))
    r.add_post("/_emu/faults/downloads", _guarded(api.add_download_fault))
    r.add_delete("/_emu/faults", _guarded(api.clear_faults))
    r.add_get("/_emu/calls", _guarded(api.calls))
