"""Journeys as ordered steps: each step asks a question and takes an answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from conversations.turn import Turn
from storage.photo_intake import PhotoUse

Handler = Callable[[Turn], Awaitable[None]]
ActionHandler = Callable[[Turn, str], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    """`prompt` asks (also to re-ask after a restart or a stray command); the rest take answers."""

    prompt: Handler
    on_text: Handler | None = None
    on_photo: Handler | None = None
    on_contact: Handler | None = None
    on_action: ActionHandler | None = None
    expects: str = "buttons"  # which hint to give for the wrong kind of answer: buttons|text|photo
    photo_use: PhotoUse = PhotoUse.STORE  # the image work done on a photo before the unit of work


@dataclass(frozen=True)
class Flow:
    """A journey: its name (stored in the conversation state) and its steps by name."""

    name: str
    steps: Mapping[str, Step]
