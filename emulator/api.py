"""The Bot API method table: case-insensitive lookup of every implemented method."""

from __future__ import annotations

from .answer import Handler
from .methods_forum import METHODS as FORUM
from .methods_media import METHODS as MEDIA
from .methods_messages import METHODS as MESSAGES
from .methods_misc import METHODS as MISC
from .methods_updates import METHODS as UPDATES

_ALL: dict[str, Handler] = {**UPDATES, **MESSAGES, **MEDIA, **MISC, **FORUM}
BY_LOWER: dict[str, tuple[str, Handler]] = {name.lower(): (name, h) for name, h in _ALL.items()}


def lookup(method: str) -> tuple[str, Handler | None]:
    """(canonical name, handler); the handler is None for a method the emulator lacks."""
    found = BY_LOWER.get(method.lower())
    if found is None:
        return method, None
    return found


def method_names() -> list[str]:
    return sorted(_ALL)
