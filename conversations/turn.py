"""One update's worth of conversation: what came in, the state, and the replies to send.

Handlers never send: they queue replies on the turn. The router commits the unit of work
first and delivers the replies after, so an answer is never shown before it is saved.

A journey's answers are read typed with `turn.answers(Model)`; `turn.go(Step.X, **answers)`
records answers and the next step together, and the engine asks the next step's question.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import Contact, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.turns import BaseTurn, Markup, Outgoing
from conversations.journey import GLOBAL, RESERVED, Action, Answers, ButtonRows, journey_of, journey_of_name
from locales.i18n import as_plain_text

if TYPE_CHECKING:
    from conversations.photos import Download
from storage import conversations
from storage.models import ConversationState, Member

__all__ = ["GLOBAL", "Markup", "Outgoing", "Turn", "new_version"]

A = TypeVar("A", bound=Answers)
ButtonAction = Action | str


def new_version() -> str:
    """A fresh tag for the buttons of a step: random, so buttons of an earlier journey that
    happened to reach the same count never match (a counter restarts when a journey ends)."""
    return secrets.token_hex(3)


def _encoded(action: ButtonAction) -> str:
    return action.encode() if isinstance(action, Action) else action


@dataclass
class Turn(BaseTurn):
    """A customer's update: the engine's turn plus the member and the journey's state."""

    member: Member | None = None
    state: ConversationState | None = None
    action: Action | None = None  # the pressed button, decoded
    download: Download | None = None  # a photo fetched before the unit of work opened
    prompt_pending: bool = False  # the engine asks the current step's question after the handler
    _answers: Answers | None = field(default=None, repr=False)

    @property
    def contact(self) -> Contact | None:
        message = self.update.effective_message
        return message.contact if message is not None else None

    @property
    def data(self) -> dict[str, Any]:
        """The state's raw JSON (answers and the engine's reserved keys)."""
        return dict(self.state.data) if self.state is not None else {}

    def answers(self, model: type[A]) -> A:
        """The journey's answers as `model`; raises pydantic's ValidationError for a state that
        does not fit it (the router checks this once, before any handler runs)."""
        if isinstance(self._answers, model) and self.state is not None:
            return self._answers
        parsed = model.model_validate({k: v for k, v in self.data.items() if k not in RESERVED})
        self._answers = parsed
        return parsed

    @property
    def step_path(self) -> list[str]:
        """The steps taken so far in this journey (Back goes to the one before the last)."""
        return [str(step) for step in self.data.get("_path", [])]

    # ---- buttons ------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return str(self.data.get("_v", "0"))

    def button(self, label: str, action: ButtonAction) -> InlineKeyboardButton:
        """A button tied to the current step: pressed after the step moved on, it is refused."""
        return InlineKeyboardButton(as_plain_text(label), callback_data=f"{self.version}:{_encoded(action)}")

    def global_button(self, label: str, action: ButtonAction) -> InlineKeyboardButton:
        """A button that works from any old message (open a product, an FAQ answer…)."""
        return InlineKeyboardButton(as_plain_text(label), callback_data=f"{GLOBAL}:{_encoded(action)}")

    def keyboard(self, rows: ButtonRows, *, back: bool = True, cancel: bool = True) -> InlineKeyboardMarkup:
        """Rows of (label, action), plus Back and Cancel so every step has a way out."""
        buttons = [[self.button(label, action) for label, action in row] for row in rows if row]
        extras = [self.button(self.t("buttons.back"), "back")] if back else []
        extras += [self.button(self.t("buttons.cancel"), "cancel")] if cancel else []
        if extras:
            buttons.append(extras)
        return InlineKeyboardMarkup(buttons)

    def contact_keyboard(self, label_key: str, skip_key: str) -> ReplyKeyboardMarkup:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(self.t(label_key), request_contact=True)], [KeyboardButton(self.t(skip_key))]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )

    # ---- state --------------------------------------------------------------------------
    async def go(self, step: enum.StrEnum, **answers: Any) -> None:
        """Records `answers` and `step` as the next one (in one save); the engine then asks the
        step's question. Buttons of older messages go stale. Entering another journey starts
        with fresh answers (a language chosen before consent is kept)."""
        journey = journey_of(step)
        same = self.state is not None and self.state.flow == journey.name
        current = self.answers(journey.answers).model_dump() if same else {"language": self.data.get("language")}
        merged = journey.answers.model_validate(current | answers)
        path = self.step_path if same else []
        path = path if path and path[-1] == step else [*path, str(step)]
        await self._save(journey.name, str(step), merged, path)
        self.prompt_pending = True

    async def remember(self, **answers: Any) -> None:
        """Records answers at the current step, without asking anything."""
        if self.state is None:
            return
        journey = journey_of_name(self.state.flow)
        merged = (
            journey.answers.model_validate(self.answers(journey.answers).model_dump() | answers) if journey else None
        )
        if merged is None:
            return
        await self._save(self.state.flow, self.state.step, merged, self.step_path)

    def reask(self) -> None:
        """The engine asks the current step's question again after this handler."""
        self.prompt_pending = True

    async def back(self) -> str | None:
        """Returns to the step before this one; None when this was the first."""
        if self.state is None:
            return None
        path = self.step_path
        journey = journey_of_name(self.state.flow)
        if len(path) < 2 or journey is None:
            return None
        await self._save(self.state.flow, path[-2], self.answers(journey.answers), path[:-1])
        return path[-2]

    async def _save(self, flow: str, step: str, answers: Answers, path: list[str]) -> None:
        data = answers.model_dump(mode="json", exclude_defaults=True) | {"_v": new_version(), "_path": path}
        self.state = await conversations.save(
            self.session, user_id=self.user_id, chat_id=self.chat_id, flow=flow, step=step, data=data, now=self.now
        )
        self._answers = answers

    async def finish(self) -> None:
        """The journey is over: nothing left to resume. Without a state there is no row to delete
        (it was read in this unit of work, under the user's lock), so no statement is sent."""
        if self.state is not None:
            await conversations.clear(self.session, self.user_id)
        self.state = None
        self._answers = None
        self.prompt_pending = False
