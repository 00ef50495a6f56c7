"""One staff update's turn: the engine's reply queue plus who is acting and in which role.

Everything staff read is in DEFAULT_LANGUAGE (docs/staff-review.md), in the group and in
private chats alike, so the turn's language is that one. Only a refusal goes to someone who is
not staff, and it speaks their own language (their saved choice, else their app's).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.turns import BaseTurn
from locales.i18n import as_plain_text
from storage import audit, members
from storage.review import Actor

MAX_TOAST = 200  # Telegram's limit for a callback answer


class Role(enum.IntEnum):
    """What the person may do; checked by the router inside the update's unit of work."""

    NONE = 0
    STAFF = 1
    ADMIN = 2


@dataclass(frozen=True)
class FetchedFile:
    """A document downloaded before the unit of work opened (a code CSV), or why it was not."""

    data: bytes | None
    problem: str | None = None  # locale key under staff_tools.codes when there is no data
    values: tuple[tuple[str, object], ...] = ()


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut at a word when one ends in its second half."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


@dataclass
class StaffTurn(BaseTurn):
    """A staff update: the role found in its unit of work, the command's words, a prefetched file."""

    role: Role = Role.NONE
    fetched: FetchedFile | None = None

    @property
    def actor(self) -> Actor:
        """Who decides, named on cards as staff see them."""
        user = self.update.effective_user
        assert user is not None
        return Actor(user.id, user.full_name, user.username)

    @property
    def is_admin(self) -> bool:
        return self.role >= Role.ADMIN

    @property
    def command_text(self) -> str:
        """The typed command, from the text or, for a document, from its caption."""
        message = self.update.effective_message
        if message is None or self.update.callback_query is not None:
            return ""
        return message.text or message.caption or ""

    @property
    def args(self) -> list[str]:
        """The words after the command."""
        return self.command_text.split()[1:]

    @property
    def staff_chat_id(self) -> int | None:
        return self.services.settings.staff_chat_id

    @property
    def pressed(self) -> tuple[int, int] | None:
        """(chat id, message id) of the message whose button was pressed."""
        query = self.update.callback_query
        message = query.message if query is not None else None
        return (message.chat.id, message.message_id) if message is not None else None

    def notify_text(self, text: str, *, alert: bool = False) -> None:
        """A toast is plain text of at most 200 characters; a typed command gets a message."""
        if self.update.callback_query is not None:
            self.toast, self.toast_alert = shorten(as_plain_text(text), MAX_TOAST), alert
        else:
            self.say_text(text)

    async def refuse(self, what: str) -> None:
        """Tells the person they may not, and writes the attempt to the audit log (same unit of work)."""
        user, chat = self.update.effective_user, self.update.effective_chat
        await audit.record(
            self.session,
            now=self.now,
            actor_user_id=user.id if user else None,
            action="staff.refused",
            subject=what,
            details={"chat_id": chat.id if chat else None},
        )
        language = self.language if self.role >= Role.STAFF else await self._own_language()
        self.notify_text(self.services.translator.t(language, "staff.not_allowed"), alert=True)

    async def _own_language(self) -> str:
        user = self.update.effective_user
        if user is None:
            return self.language
        saved = await members.saved_language(self.session, user.id)
        return saved or self.services.translator.resolve(user.language_code)
