"""Read Bot API parameters the way the real server does, whatever the encoding.

Query string, form-encoded, JSON and multipart bodies all end up as one :class:`Params`, whose
typed getters accept both JSON-native values and the strings form encoding produces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request

MAX_CLOUD_UPLOAD = 50 * 1024 * 1024  # api.telegram.org refuses larger requests with a 413
REQUEST_TOO_LARGE = ApiError(413, "Request Entity Too Large")


@dataclass
class Upload:
    """A multipart file part."""

    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Params:
    """A request's parameters plus its uploaded files."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.values and self.values[name] is not None

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def string(self, name: str) -> str | None:
        """A string parameter; numbers and objects are given back as their JSON text."""
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value) if isinstance(value, (dict, list)) else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter, or ``default`` when it is absent or empty."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def json(self, name: str, error: str) -> Any:
        """A parameter holding a JSON value; ``error`` (a Bad Request text) if it does not parse."""
        value = self.values.get(name)
        if value is None or not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(error) from None

    def chat_id(self) -> int:
        """The required ``chat_id``; a ``@username`` names no chat the emulator has."""
        value = self.values.get("chat_id")
        if value is None or value == "" or value == 0 or value == "0":
            raise bad_request("chat_id is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def for_log(self) -> dict[str, Any]:
        """What ``emu.calls`` records: values as sent, uploads summarised."""
        logged = dict(self.values)
        for name, upload in self.files.items():
            logged[name] = f"<file {upload.filename or name}, {len(upload.data)} bytes>"
        return logged


async def read_params(request: web.Request) -> Params:
    """Collect query, form/JSON/multipart body into :class:`Params`."""
    params = Params(values=dict(request.query))
    if request.method not in ("POST", "PUT"):
        return params
    content_type = request.content_type
    try:
        if content_type == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise bad_request("can't parse JSON encoded request") from None
                if not isinstance(body, dict):
                    raise bad_request("can't parse JSON encoded request")
                params.values.update(body)
        elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    params.files[name] = Upload(name, value.filename, value.content_type, data)
                else:
                    params.values[name] = value
    except web.HTTPRequestEntityTooLarge:
        raise REQUEST_TOO_LARGE from None
    return params
