"""Journeys as ordered steps: each step asks a question and takes an answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from conversations.turn import Turn

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


@dataclass
class Flow:
    """A journey: its steps in order (for Back) and what `/cancel` says."""

    name: str
    steps: dict[str, Step] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def step(self, name: str, step: Step) -> None:
        self.steps[name] = step
        self.order.append(name)
