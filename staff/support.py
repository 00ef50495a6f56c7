"""Support on the staff side: customers' messages in the staff chat, staff's answers, resolutions.

A customer's message (queued by storage/support.py) is posted by the outbox renderer here: in
the customer's own forum topic when the staff group has topics (`is_forum`; the topic is created
with createForumTopic the first time and kept on the thread), otherwise as a message staff
reply to. Staff answer by replying to it, or by writing anything in the customer's topic; the
answer (text, or a photo with its caption) is stored and queued for the customer through the
outbox. Photos pass as the messenger's file ids, never downloaded.

    /serial add SERIAL MODEL [CHK]       a serial the catalogue lacked; who asked is told
    /product transfer SERIAL CUSTOMER    move a registered serial (Telegram id, @username, e-mail)
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, Chat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot.outbox import OutboxDispatcher, Rendered, Renderer, callback_data
from bot.services import Services
from bot.turns import Outgoing
from locales.i18n import Raw, as_plain_text
from staff import reject_reply
from staff.cards import full_name, telegram_of
from staff.router import Command
from staff.text import tr
from staff.turn import StaffTurn
from storage import support
from storage.db import unit_of_work
from storage.support import StaffView, Subject, SupportRefused
from storage.support_models import SupportMessage

log = logging.getLogger(__name__)

MAX_CAPTION = 1024
FORUM_CHECK_SECONDS = 300.0  # how long a process trusts what it learned of the staff group's topics
TOPIC_NAME = 128


# ---------------------------------------------------------------- the customer's message in the staff chat


class ForumInfo:
    """Whether the staff group has topics, asked with getChat and remembered for a while."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[bool, float]] = {}

    async def is_forum(self, bot: Bot, chat_id: int) -> bool:
        known = self._known.get(chat_id)
        if known is not None and time.monotonic() - known[1] < FORUM_CHECK_SECONDS:
            return known[0]
        try:
            chat = await bot.get_chat(chat_id)
            forum = bool(chat.is_forum)
        except TelegramError as exc:
            log.info("support: could not ask whether chat %s has topics: %s", chat_id, exc)
            forum = False
        self._known[chat_id] = (forum, time.monotonic())
        return forum

    def forget(self, chat_id: int) -> None:
        self._known.pop(chat_id, None)


def _customer_line(services: Services, view: StaffView) -> str:
    member = view.member
    return tr(
        services,
        "support.staff.customer",
        name=full_name(services, member.first_name, member.last_name),
        telegram=Raw(telegram_of(services, member.username, member.telegram_user_id)),
        email=member.email or "—",
    )


def _subject_line(services: Services, view: StaffView) -> str | None:
    message, member = view.message, view.member
    subject = message.subject or Subject.GENERAL
    if subject == Subject.GENERAL or not message.serial:
        return None
    values: dict[str, object] = {"serial": message.serial, "customer": member.telegram_user_id}
    if subject == Subject.NO_CHK:
        values["chk"] = view.listed_chk or "—"
    return tr(services, f"support.staff.subject.{subject}", **values)


def staff_text(services: Services, view: StaffView, *, in_topic: bool) -> str:
    """The customer's message as staff read it: who, their orders, what about, the words, how to answer."""
    lines = [tr(services, "support.staff.title"), _customer_line(services, view)]
    orders = ", ".join(view.order_ids) or "—"
    lines.append(tr(services, "support.staff.orders", orders=orders))
    subject = _subject_line(services, view)
    if subject:
        lines.append(subject)
    body = view.message.text or tr(services, "support.staff.photo_only")
    lines += ["", tr(services, "support.staff.body", text=body)]
    if not in_topic or view.first_in_thread:
        lines += ["", tr(services, "support.staff.hint_topic" if in_topic else "support.staff.hint_reply")]
    return "\n".join(lines)


def topic_name(services: Services, view: StaffView) -> str:
    member = view.member
    name = full_name(services, member.first_name, member.last_name)
    return as_plain_text(tr(services, "support.staff.topic", name=name, id=member.telegram_user_id))[:TOPIC_NAME]


async def _topic(services: Services, bot: Bot, forum: ForumInfo, chat_id: int, view: StaffView) -> int | None:
    """The customer's topic in a forum staff group (created once), or None: reply mode."""
    if not await forum.is_forum(bot, chat_id):
        return None
    thread = view.thread
    if thread.topic_id is not None and thread.staff_chat_id == chat_id:
        return int(thread.topic_id)
    try:
        topic = await bot.create_forum_topic(chat_id, topic_name(services, view))
    except TelegramError as exc:  # topics switched off meanwhile, or no right to manage them
        log.warning("support: no topic for member %s in chat %s: %s", view.member.id, chat_id, exc)
        forum.forget(chat_id)
        return None
    async with unit_of_work(services.sessions) as session:  # a resend after a crash uses the same topic
        await support.set_topic(session, thread.id, chat_id, topic.message_thread_id)
    return int(topic.message_thread_id)


def renderer_to_staff(dispatcher: OutboxDispatcher, forum: ForumInfo) -> Renderer:
    """The renderer of "support_to_staff": it needs the bot to learn of topics and create one."""

    async def render(services: Services, payload: dict[str, Any]) -> Rendered:
        async with unit_of_work(services.sessions) as session:
            view = await support.staff_view(session, int(payload["support_message_id"]))
        if view is None:
            raise LookupError(f"support message {payload.get('support_message_id')} does not exist")
        chat_id = int(payload.get("chat_id") or services.settings.staff_chat_id or 0)
        topic = await _topic(services, dispatcher.bot, forum, chat_id, view) if chat_id else None
        text = staff_text(services, view, in_topic=topic is not None)
        return _with_photo(text, view.message, None, topic)

    return render


def _with_photo(text: str, message: SupportMessage, markup: InlineKeyboardMarkup | None, topic: int | None) -> Rendered:
    """The text as the photo's caption when it fits (one message to reply to), else the photo first."""
    photos: list[bytes | str] = [message.photo_file_id] if message.photo_file_id else []
    caption = bool(photos) and len(as_plain_text(text)) <= MAX_CAPTION
    return Rendered(text, markup, photos, thread_id=topic, caption=caption)


async def posted_to_staff(session: AsyncSession, payload: dict[str, Any], chat_id: int, message_id: int) -> None:
    await support.posted(session, int(payload["support_message_id"]), chat_id, message_id)


# ---------------------------------------------------------------- staff's answer, to the customer


async def render_to_customer(services: Services, payload: dict[str, Any]) -> Rendered:
    async with unit_of_work(services.sessions) as session:
        message = await support.message_by_id(session, int(payload["support_message_id"]))
    if message is None:
        raise LookupError(f"support message {payload.get('support_message_id')} does not exist")
    translator = services.translator
    language = str(payload.get("language") or translator.default_language)
    key = "support.from_staff" if message.text else "support.from_staff_photo"
    text = translator.t(language, key, text=message.text or "")
    button = InlineKeyboardButton(
        as_plain_text(translator.t(language, "support.answer_button")), callback_data=callback_data("support")
    )
    return _with_photo(text, message, InlineKeyboardMarkup([[button]]), None)


def register_outbox(dispatcher: OutboxDispatcher) -> None:
    forum = ForumInfo()
    dispatcher.renderers["support_to_staff"] = renderer_to_staff(dispatcher, forum)
    dispatcher.after_send["support_to_staff"] = posted_to_staff
    dispatcher.renderers["support_to_customer"] = render_to_customer


# ---------------------------------------------------------------- staff write: a reply or a message in a topic


def _answer(turn: StaffTurn, text: str) -> None:
    """A short note to the staff member, in the topic they wrote in (or as a plain reply)."""
    message = turn.update.effective_message
    thread = message.message_thread_id if message is not None and message.is_topic_message else None
    turn.replies.append(Outgoing(text, thread_id=thread))


async def on_reply(turn: StaffTurn) -> None:
    """A staff member replied to the bot or wrote in a topic: a rejection reason asked for, or an
    answer to a customer. Anything else (staff talking among themselves in the group) is left alone."""
    message = turn.update.effective_message
    assert message is not None
    quoted = message.reply_to_message
    if quoted is not None and await reject_reply.answer(turn, quoted.message_id):
        return
    session, chat_id = turn.session, turn.chat_id
    thread = None
    if message.is_topic_message and message.message_thread_id:
        thread = await support.thread_by_topic(session, chat_id, message.message_thread_id)
    if thread is None and quoted is not None:
        thread = await support.thread_by_staff_message(session, chat_id, quoted.message_id)
    if thread is None:
        if turn.update.effective_chat is not None and turn.update.effective_chat.type == Chat.PRIVATE:
            turn.say("support.staff.reply_unknown")
        return
    photo = message.photo[-1].file_id if message.photo else None
    text = message.text or message.caption
    if photo is None and not text:
        _answer(turn, tr(turn.services, "support.staff.only_text_photos"))
        return
    user = turn.update.effective_user
    try:
        async with session.begin_nested():
            await support.from_staff(
                session,
                thread,
                turn.now,
                staff_user_id=turn.user_id,
                staff_name=user.full_name if user is not None else None,
                text=text,
                photo_file_id=photo,
            )
    except SupportRefused as refused:
        _answer(turn, tr(turn.services, f"support.staff.refused.{refused.error.value}", **refused.values))
        return
    _answer(turn, tr(turn.services, "support.staff.sent"))


# ---------------------------------------------------------------- commands


async def serial_command(turn: StaffTurn) -> None:
    """/serial add SERIAL MODEL [CHK]"""
    parts = turn.command_text.split(maxsplit=3)
    if len(parts) < 4 or parts[1].lower() != "add":
        turn.say("support.staff.usage_serial")
        return
    secret = turn.services.settings.chk_secret
    try:
        async with turn.session.begin_nested():
            added = await support.add_serial(
                turn.session, parts[2], parts[3], turn.user_id, turn.now, secret.get_secret_value() if secret else None
            )
    except SupportRefused as refused:
        turn.say_text(tr(turn.services, f"support.staff.refused.{refused.error.value}", **refused.values))
        return
    turn.say("support.staff.serial_added", serial=added.serial, model=added.model, name=added.name, told=added.told)


async def product_command(turn: StaffTurn) -> None:
    """/product transfer SERIAL CUSTOMER"""
    parts = turn.command_text.split()
    if len(parts) != 4 or parts[1].lower() != "transfer":
        turn.say("support.staff.usage_product")
        return
    try:
        async with turn.session.begin_nested():
            moved = await support.transfer_product(turn.session, parts[2], parts[3], turn.user_id, turn.now)
    except SupportRefused as refused:
        turn.say_text(tr(turn.services, f"support.staff.refused.{refused.error.value}", **refused.values))
        return
    services = turn.services
    turn.say(
        "support.staff.transferred",
        serial=moved.serial,
        model=moved.model,
        previous=Raw(telegram_of(services, moved.from_member.username, moved.from_member.telegram_user_id)),
        owner=Raw(telegram_of(services, moved.to_member.username, moved.to_member.telegram_user_id)),
    )


COMMANDS = [Command("serial", serial_command), Command("product", product_command)]
