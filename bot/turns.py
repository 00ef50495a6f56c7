"""The engine every update runs on, customer's or staff's: one unit of work, then the replies.

`claimed_unit_of_work` opens the update's one transaction: the user's lock first (a second bot
process waits for this one's commit), then the update id is claimed, so a redelivery is known
and changes nothing. Handlers queue replies, a toast and card edits on a `BaseTurn`; `deliver`
sends them after the commit, so nothing is shown before it is saved. conversations/turn.py and
staff/turn.py extend the turn with what each side needs (a journey's state; the staff member's
role).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import (
    ForceReply,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.context import BotContext
from bot.replies import answer_query, sender
from bot.services import Services
from bot.uploads import send_photo
from locales.i18n import as_plain_text
from storage import updates
from storage.db import unit_of_work

log = logging.getLogger(__name__)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply
OnSent = Callable[[int], Awaitable[None]]  # told the id of the message just sent (e.g. to remember a card)


@dataclass
class Outgoing:
    """One reply to send after the commit."""

    text: str
    markup: Markup | None = None
    photo: bytes | Path | None = None
    document: tuple[bytes, str] | None = None
    album: list[bytes] | None = None  # 2-10 photos sent together, `text` as the first caption
    edit: bool = False  # replace the message whose button was pressed
    edit_message: tuple[int, int] | None = None  # (chat id, message id) of another message to edit
    to_chat: int | None = None  # another chat than the update's (e.g. a staff member's private chat)
    markup_only: bool = False  # with edit_message: change only the buttons, not the text
    on_sent: OnSent | None = None  # run after the message was sent (outside the unit of work)
    thread_id: int | None = None  # a text message into this forum topic of the chat


@dataclass(frozen=True)
class Claimed:
    """The update's open unit of work and whether this is its first delivery."""

    session: AsyncSession
    now: datetime
    first_delivery: bool


@asynccontextmanager
async def claimed_unit_of_work(services: Services, update: Update) -> AsyncIterator[Claimed]:
    """The update's one transaction, with the user locked and the update id claimed in it."""
    async with unit_of_work(services.sessions) as session:
        user = update.effective_user
        now = services.clock.now()
        first = await updates.claim_for_user(session, user.id if user is not None else None, update.update_id, now)
        yield Claimed(session, now, first)


@dataclass
class BaseTurn:
    """What came in, and the replies, toast and edits queued in answer."""

    update: Update
    context: BotContext
    session: AsyncSession
    language: str
    now: datetime
    replies: list[Outgoing] = field(default_factory=list)
    toast: str | None = None
    toast_alert: bool = False

    @property
    def services(self) -> Services:
        return self.context.services

    @property
    def user_id(self) -> int:
        assert self.update.effective_user is not None
        return self.update.effective_user.id

    @property
    def chat_id(self) -> int:
        assert self.update.effective_chat is not None
        return self.update.effective_chat.id

    @property
    def text(self) -> str | None:
        message = self.update.effective_message
        return message.text if message is not None and self.update.callback_query is None else None

    def t(self, key: str, /, **values: object) -> str:
        return self.services.translator.t(self.language, key, **values)

    def say(
        self,
        key: str,
        /,
        *,
        markup: Markup | None = None,
        photo: bytes | Path | None = None,
        edit: bool = False,
        **values: object,
    ) -> None:
        """Queues the localized message `key`."""
        self.say_text(self.t(key, **values), markup=markup, photo=photo, edit=edit)

    def say_text(
        self,
        text: str,
        *,
        markup: Markup | None = None,
        photo: bytes | Path | None = None,
        edit: bool = False,
        to_chat: int | None = None,
        on_sent: OnSent | None = None,
    ) -> None:
        """Queues text already rendered from locale messages."""
        edit = edit and self.update.callback_query is not None
        self.replies.append(Outgoing(text, markup, photo, edit=edit, to_chat=to_chat, on_sent=on_sent))

    def edit_text(self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Queues an edit of a message that is not the pressed one (a review card)."""
        self.replies.append(Outgoing(text, markup, edit_message=(chat_id, message_id)))

    def edit_markup(self, chat_id: int, message_id: int, markup: InlineKeyboardMarkup | None) -> None:
        """Queues a change of a message's buttons only (e.g. a card's reasons, or none)."""
        self.replies.append(Outgoing("", markup, edit_message=(chat_id, message_id), markup_only=True))

    def send_photos(self, photos: list[bytes], *, to_chat: int | None = None) -> None:
        """Photos without a caption, as one album when several (a review card's photos)."""
        if len(photos) == 1:
            self.replies.append(Outgoing("", photo=photos[0], to_chat=to_chat))
        elif photos:
            self.replies.append(Outgoing("", album=photos[:10], to_chat=to_chat))

    def send_document(self, data: bytes, file_name: str, caption_key: str, **values: object) -> None:
        self.replies.append(Outgoing(self.t(caption_key, **values), document=(data, file_name)))

    def send_album(self, photos: list[bytes], caption_key: str, **values: object) -> None:
        """Photos as one album (a single photo is sent as such)."""
        if len(photos) == 1:
            self.replies.append(Outgoing(self.t(caption_key, **values), photo=photos[0]))
        elif photos:
            self.replies.append(Outgoing(self.t(caption_key, **values), album=photos[:10]))

    def notify(self, key: str, /, *, alert: bool = False, **values: object) -> None:
        """A toast for the pressed button (or a message when the user typed)."""
        self.notify_text(self.t(key, **values), alert=alert)

    def notify_text(self, text: str, *, alert: bool = False) -> None:
        if self.update.callback_query is not None:
            self.toast, self.toast_alert = as_plain_text(text), alert
        else:
            self.say_text(text)


async def deliver(turn: BaseTurn) -> None:
    """Sends what the turn queued, after its unit of work was committed, through the process's
    reply sender (bot/replies.py: paced, retried after a 429 or a network error). A reply that
    still cannot be sent ends the delivery: the ones after it would make no sense without it."""
    query = turn.update.callback_query
    if query is not None:
        await answer_query(query, turn.toast, alert=turn.toast_alert)
    for reply in turn.replies:
        if not await _deliver_reply(turn, reply):
            return


async def _deliver_reply(turn: BaseTurn, reply: Outgoing) -> bool:
    """One queued reply: an edit where asked (a new message if the edit of the pressed message is
    refused), else a new message; False when it could not be delivered."""
    bot, send = turn.context.bot, sender(turn.context).send
    chat_id = reply.to_chat if reply.to_chat is not None else turn.chat_id
    query = turn.update.callback_query
    target = reply.edit_message
    if target is None and reply.edit and query is not None and query.message is not None and reply.photo is None:
        target = (chat_id, query.message.message_id)
    if target is not None and reply.markup_only:
        return await _edit_markup(turn, target, reply)
    if target is not None:
        inline = reply.markup if isinstance(reply.markup, InlineKeyboardMarkup) else None  # all an edit can carry
        try:
            edited = await send(
                target[0],
                bot.edit_message_text,
                reply.text,
                chat_id=target[0],
                message_id=target[1],
                parse_mode=ParseMode.HTML,
                reply_markup=inline,
            )
            return edited is not None or reply.edit_message is not None
        except BadRequest as exc:
            if "not modified" in str(exc):
                return True
            if reply.edit_message is not None:  # a card that is gone: nothing to replace it with
                log.info("edit of message %s refused: %s", target, exc)
                return True
            log.info("edit failed (%s); sending a new message instead", exc)
    sent: object
    if reply.album is not None:
        media = [
            InputMediaPhoto(photo, caption=(reply.text or None) if i == 0 else None, parse_mode=ParseMode.HTML)
            for i, photo in enumerate(reply.album)
        ]
        sent = await send(chat_id, bot.send_media_group, chat_id, media)
    elif reply.photo is not None:  # a bundled picture (a Path) goes by its stored file_id once uploaded
        caption = reply.text or None
        sent = await send_photo(
            turn.context, chat_id, reply.photo, caption=caption, parse_mode=ParseMode.HTML, reply_markup=reply.markup
        )
    elif reply.document is not None:
        data, name = reply.document
        sent = await send(
            chat_id, bot.send_document, chat_id, data, filename=name, caption=reply.text, parse_mode=ParseMode.HTML
        )
    else:
        sent = await send(
            chat_id,
            bot.send_message,
            chat_id,
            reply.text,
            parse_mode=ParseMode.HTML,
            reply_markup=reply.markup,
            message_thread_id=reply.thread_id if reply.thread_id is not None else _topic_of(turn, reply),
        )
    if reply.on_sent is not None and isinstance(sent, Message):
        try:
            await reply.on_sent(sent.message_id)
        except Exception:  # noqa: BLE001 - the message is out; what failed is only a note about it
            log.warning("after sending message %s to chat %s", sent.message_id, chat_id, exc_info=True)
    return sent is not None


def _topic_of(turn: BaseTurn, reply: Outgoing) -> int | None:
    """The forum topic the update came from, so an answer to a command typed (or a button pressed)
    in a topic stays in it; None in General, in private chats and for another chat."""
    message = turn.update.effective_message
    if reply.to_chat is not None or message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


async def _edit_markup(turn: BaseTurn, target: tuple[int, int], reply: Outgoing) -> bool:
    """Changes only the buttons of a message; a refusal (not modified, message gone) is no error:
    the buttons are as wanted, or there is nothing left to change."""
    bot = turn.context.bot
    markup = reply.markup if isinstance(reply.markup, InlineKeyboardMarkup) else None
    try:
        await sender(turn.context).send(
            target[0], bot.edit_message_reply_markup, chat_id=target[0], message_id=target[1], reply_markup=markup
        )
    except BadRequest as exc:
        if "not modified" not in str(exc):
            log.info("edit of the buttons of message %s refused: %s", target, exc)
    return True
