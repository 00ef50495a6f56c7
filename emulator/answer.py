"""What a Bot API handler returns and the signature every handler has."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .params import Params
    from .state import EmulatorState


@dataclass
class Answer:
    """A result with the optional ``description`` some methods add (e.g. "Webhook was set")."""

    result: Any
    description: str | None = None


Handler = Callable[["EmulatorState", "Params"], Awaitable[Any]]
