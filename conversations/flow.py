"""Journeys as ordered steps: each step asks a question and takes an answer.

A handler records its answers and the next step with `turn.go(Step.X, **answers)`; the engine
then asks the new step's question (its `prompt`). Buttons reach `on_action` already decoded.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conversations.journey import Action, Answers, Journey, register
from conversations.turn import Turn
from storage.photo_intake import PhotoUse

Handler = Callable[[Turn], Awaitable[None]]
ActionHandler = Callable[[Turn, Action], Awaitable[None]]


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
    """A journey: its name (stored in the conversation state), its steps in the order they are
    asked (keyed by the journey's step enum), and the model of its answers."""

    name: str
    steps: Mapping[Any, Step]  # keyed by the journey's step enum: a StrEnum, so the stored name finds it
    answers: type[Answers] = Answers
    order: tuple[enum.StrEnum, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", tuple(self.steps))
        kinds = {type(step) for step in self.order}
        assert len(kinds) == 1, f"the steps of {self.name} are one enum"
        register(kinds.pop(), Journey(self.name, self.answers))

    @property
    def first(self) -> enum.StrEnum:
        return self.order[0]
