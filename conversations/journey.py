"""The typed pieces of a journey the turn and the router share: answers, actions, the registry.

A journey's answers are a pydantic model stored flat in the conversation state's JSON, next to
the engine's reserved `_v` (the button version) and `_path` (the steps taken, for Back). Flat, with
the keys the dict-based journeys used, so a state saved before the models existed loads into them.

Buttons carry `<version>:<name>[:<argument>]` (tied to the step that sent them) or
`g:<name>[:<argument>]` (global: they work from any old message). The router decodes that once into
an `Action`; a handler that cannot use it raises `StaleButton` and the engine answers the press.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

GLOBAL = "g"  # prefix of buttons that work whatever step the user is in
RESERVED = ("_v", "_path")

E = TypeVar("E", bound=enum.StrEnum)


class Answers(BaseModel):
    """Answers of a journey. Unknown keys (from an older version) are ignored."""

    model_config = ConfigDict(extra="ignore")

    language: str | None = None  # chosen before consent, when there is no member row to hold it


class StaleButton(Exception):
    """The pressed button means nothing (any more) at this step: the engine says so."""


@dataclass(frozen=True)
class Action:
    """A decoded button: its name and argument ("cat", "monitor"), without the version."""

    name: str
    argument: str = ""

    def encode(self) -> str:
        return f"{self.name}:{self.argument}" if self.argument else self.name

    @classmethod
    def parse(cls, text: str) -> Action:
        name, _, argument = text.partition(":")
        return cls(name, argument)

    @property
    def number(self) -> int:
        """The argument as an id; a button with anything else is stale."""
        if not self.argument.isdecimal():
            raise StaleButton()
        return int(self.argument)

    def choice(self, values: type[E]) -> E:
        """The argument as one of `values`; a button with anything else is stale."""
        try:
            return values(self.argument)
        except ValueError:
            raise StaleButton() from None


ButtonRows = list[list[tuple[str, "Action | str"]]]  # (label, action) per button, row after row


@dataclass(frozen=True)
class Press:
    """Callback data as it came: `version` is None for a global button."""

    version: str | None
    action: Action

    @classmethod
    def decode(cls, data: str) -> Press:
        version, _, rest = data.partition(":")
        return cls(None if version == GLOBAL else version, Action.parse(rest))


@dataclass(frozen=True)
class Journey:
    """What the turn needs to know of a flow to move in it: its name and its answers model."""

    name: str
    answers: type[Answers]


_JOURNEYS: dict[type[enum.StrEnum], Journey] = {}


def register(steps: type[enum.StrEnum], journey: Journey) -> None:
    _JOURNEYS[steps] = journey


def journey_of(step: enum.StrEnum) -> Journey:
    """The journey a step belongs to (each journey has its own step enum)."""
    return _JOURNEYS[type(step)]


def journey_of_name(name: str) -> Journey | None:
    """The journey stored under `name` in a conversation state, if one is registered."""
    return next((journey for journey in _JOURNEYS.values() if journey.name == name), None)
