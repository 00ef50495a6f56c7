"""One update's worth of conversation: what came in, the state, and the replies to send.

Handlers never send: they queue replies on the turn. The router commits the unit of work
first and delivers the replies after, so an answer is never shown before it is saved.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import Contact, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.turns import BaseTurn, Markup, Outgoing
from locales.i18n import as_plain_text

if TYPE_CHECKING:
    from conversations.photos import Download
from storage import conversations
from storage.models import ConversationState, Member

GLOBAL = "g"  # prefix of buttons that work whatever step the user is in


def new_version() -> str:
    """A fresh tag for the buttons of a step: random, so buttons of an earlier journey that
    happened to reach the same count never match (a counter restarts when a journey ends)."""
    return secrets.token_hex(3)


@dataclass
class Turn(BaseTurn):
    """A customer's update: the engine's turn plus the member and the journey's state."""

    member: Member | None = None
    state: ConversationState | None = None
    action: str | None = None
    download: Download | None = None  # a photo fetched before the unit of work opened

    @property
    def contact(self) -> Contact | None:
        message = self.update.effective_message
        return message.contact if message is not None else None

    @property
    def data(self) -> dict[str, Any]:
        """Answers given so far in the current journey."""
        return dict(self.state.data) if self.state is not None else {}

    # ---- buttons ------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return str(self.data.get("_v", "0"))

    def button(self, label: str, action: str) -> InlineKeyboardButton:
        """A button tied to the current step: pressed after the step moved on, it is refused."""
        return InlineKeyboardButton(as_plain_text(label), callback_data=f"{self.version}:{action}")

    def global_button(self, label: str, action: str) -> InlineKeyboardButton:
        """A button that works from any old message (open a product, an FAQ answer…)."""
        return InlineKeyboardButton(as_plain_text(label), callback_data=f"{GLOBAL}:{action}")

    def keyboard(self, rows: list[list[tuple[str, str]]], *, back: bool = True, cancel: bool = True) -> InlineKeyboardMarkup:
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
    async def move(self, flow: str, step: str, **answers: Any) -> None:
        """Records answers and the next step; the buttons of older messages go stale."""
        data = self.data | answers
        data["_v"] = new_version()
        path = list(data.get("_path", [])) if self.state is not None and self.state.flow == flow else []
        data["_path"] = path if path and path[-1] == step else [*path, step]
        self.state = await conversations.save(self.session, user_id=self.user_id, chat_id=self.chat_id, flow=flow, step=step, data=data, now=self.now)

    async def back(self) -> str | None:
        """Returns to the step before this one; None when this was the first."""
        if self.state is None:
            return None
        path = list(self.data.get("_path", []))
        if len(path) < 2:
            return None
        data = self.data | {"_v": new_version(), "_path": path[:-1]}
        self.state = await conversations.save(self.session, user_id=self.user_id, chat_id=self.chat_id, flow=self.state.flow, step=path[-2], data=data, now=self.now)
        return path[-2]

    async def forget(self, *keys: str) -> None:
        """Drops answers, e.g. those that depend on one being changed."""
        if self.state is None:
            return
        data = {k: v for k, v in self.data.items() if k not in keys}
        self.state = await conversations.save(self.session, user_id=self.user_id, chat_id=self.chat_id, flow=self.state.flow, step=self.state.step, data=data, now=self.now)

    async def finish(self) -> None:
        """The journey is over: nothing left to resume."""
        await conversations.clear(self.session, self.user_id)
        self.state = None
