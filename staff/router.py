"""One entry for every staff update: a staff command or an `s:` button, on the customers' engine.

For each update the router opens exactly one `claimed_unit_of_work` (bot/turns.py): the user's
lock, then the update id is claimed. Inside it the person's role is found (admins from
ADMIN_USER_IDS, staff from the settings or added with /staff) and the place checked (the staff
group or a private chat); a refusal is written to the audit log in the same unit of work. An
allowed update goes to its typed handler, which calls storage services and queues replies,
toasts and card edits on the turn. `deliver` sends them after the commit, so staff never see a
decision that was not saved. A redelivered update (Telegram sent it again after a restart)
changes nothing: a pressed card is shown as it is now and the press answered; a typed command
is not answered a second time.

Slow work comes before the unit of work opens: a command may name a `prefetch` (the CSV of
`/codes import` is downloaded first, for admins only), so a download never holds the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Chat, Update
from telegram.ext import Application, BaseHandler

from bot.config import Settings
from bot.context import BotContext
from bot.turns import claimed_unit_of_work, deliver
from staff import actions
from staff.actions import CardAction
from staff.turn import FetchedFile, Role, StaffTurn
from storage import staff

CommandHandler = Callable[[StaffTurn], Awaitable[None]]
ReplyHandler = Callable[[StaffTurn], Awaitable[None]]  # a staff reply to the bot, or a message in a topic
ButtonHandler = Callable[[StaffTurn, CardAction], Awaitable[None]]
RedeliveryHandler = Callable[[StaffTurn, CardAction], Awaitable[None]]
Prefetch = Callable[[Update, BotContext], Awaitable[FetchedFile | None]]


@dataclass(frozen=True)
class Command:
    """A staff command: who may run it, and where it is a staff command at all."""

    name: str
    handler: CommandHandler
    admin: bool = False
    group_only: bool = False  # /help: in private chats it stays the customer's
    in_caption: bool = False  # also as a document's caption (/codes import with the CSV)
    prefetch: Prefetch | None = None


@dataclass(frozen=True)
class Route:
    """What an update is for the staff side: a command, or a button (decoded or not)."""

    command: Command | None = None
    button: CardAction | None = None
    reply: bool = False  # a reply to the bot's message, or a message in a forum topic (staff/support.py)


def command_name(text: str, bot_username: str | None) -> str | None:
    """ "/approve@ThisBot abc" → "approve"; None when it is no command or one for another bot."""
    if not text.startswith("/") or len(text) < 2:
        return None
    word = text[1:].split()[0] if text[1:].split() else ""
    name, _, addressee = word.partition("@")
    if addressee and (bot_username is None or addressee.lower() != bot_username.lower()):
        return None
    return name.lower() or None


class StaffRouter:
    """The staff commands and the card's buttons, dispatched inside one unit of work."""

    def __init__(
        self,
        settings: Settings,
        commands: list[Command],
        on_button: ButtonHandler,
        on_redelivered: RedeliveryHandler,
        on_reply: ReplyHandler | None = None,
    ) -> None:
        self.settings = settings
        self.commands: Mapping[str, Command] = {command.name: command for command in commands}
        self.on_button = on_button
        self.on_redelivered = on_redelivered
        self.on_reply = on_reply

    def route_of(self, update: Update) -> Route | None:
        """Whether the update is the staff side's; None leaves it to the customer's router."""
        query = update.callback_query
        if query is not None:
            return Route(button=actions.decode(query.data)) if actions.is_staff_button(query.data) else None
        message, chat = update.message, update.effective_chat
        if message is None or chat is None or update.effective_user is None:
            return None
        caption = message.text is None and message.document is not None
        name = command_name(message.text or (message.caption or "" if caption else ""), _bot_username(update))
        command = self.commands.get(name) if name is not None else None
        if command is None or (caption and not command.in_caption):
            return Route(reply=True) if self._is_staff_reply(update) else None
        if command.group_only and chat.id != self.settings.staff_chat_id:
            return None
        return Route(command=command)

    def _is_staff_reply(self, update: Update) -> bool:
        """A message that may answer the bot: in the staff group a reply to the bot or any message in
        a forum topic; in a private chat a reply to the bot by someone the settings name as staff
        (the settings alone decide here, before any database). A typed /command never is one."""
        message, chat, user = update.message, update.effective_chat, update.effective_user
        if self.on_reply is None or message is None or chat is None or user is None:
            return False
        if (message.text or "").startswith("/"):
            return False
        quoted = message.reply_to_message
        to_bot = quoted is not None and quoted.from_user is not None and quoted.from_user.is_bot
        if chat.id == self.settings.staff_chat_id:
            return to_bot or bool(message.is_topic_message and message.message_thread_id)
        return chat.type == Chat.PRIVATE and to_bot and user.id in self.settings.staff_ids

    async def handle(self, update: Update, context: BotContext, route: Route) -> None:
        """The update's one unit of work: access, the handler, then delivery after the commit."""
        services = context.services
        fetched = await self._prefetch(update, context, route)
        async with claimed_unit_of_work(services, update) as claimed:
            turn = StaffTurn(
                update, context, claimed.session, self.settings.default_language, claimed.now, fetched=fetched
            )
            if claimed.first_delivery:
                await self._dispatch(turn, route)
            else:
                await self._redelivered(turn, route)
        await deliver(turn)

    async def _dispatch(self, turn: StaffTurn, route: Route) -> None:
        turn.role = await self._role(turn)
        if route.reply:  # not a command: someone who is not staff is not answered
            if (
                self.on_reply is not None
                and turn.role >= Role.STAFF
                and self._in_staff_place(turn.update.effective_chat)
            ):
                await self.on_reply(turn)
            return
        wanted = Role.ADMIN if route.command is not None and route.command.admin else Role.STAFF
        if turn.role < wanted or not self._in_staff_place(turn.update.effective_chat):
            await turn.refuse(route.command.name if route.command is not None else "review.button")
            return
        if route.command is not None:
            await route.command.handler(turn)
        elif route.button is not None:
            await self.on_button(turn, route.button)
        else:
            turn.notify("staff.review.stale", alert=True)

    async def _redelivered(self, turn: StaffTurn, route: Route) -> None:
        """Applied already: nothing changes. A press is answered (and its card shown as it is
        now, in case the first delivery's edit was lost). A typed command is not answered
        twice: its answer went out with the first delivery, or — after a crash between commit
        and reply — what it did shows in /find, /queue or the card."""
        if route.button is None:
            return
        if self._in_staff_place(turn.update.effective_chat):
            turn.role = await self._role(turn)
            if turn.role >= Role.STAFF:
                await self.on_redelivered(turn, route.button)
                return
        turn.notify("staff.already_done")

    async def _role(self, turn: StaffTurn) -> Role:
        user_id = turn.user_id
        if user_id in self.settings.admin_user_ids:
            return Role.ADMIN
        if await staff.is_staff(turn.session, user_id, self.settings.staff_ids):
            return Role.STAFF
        return Role.NONE

    def _in_staff_place(self, chat: Chat | None) -> bool:
        return chat is not None and (chat.type == Chat.PRIVATE or chat.id == self.settings.staff_chat_id)

    async def _prefetch(self, update: Update, context: BotContext, route: Route) -> FetchedFile | None:
        """A command's slow work, before the unit of work; only for admins (known from the
        settings alone), so nobody else makes the bot download anything."""
        command = route.command
        user = update.effective_user
        if command is None or command.prefetch is None or user is None or user.id not in self.settings.admin_user_ids:
            return None
        if not self._in_staff_place(update.effective_chat):
            return None
        return await command.prefetch(update, context)


def _bot_username(update: Update) -> str | None:
    try:
        return update.get_bot().username
    except RuntimeError:  # an update built without a bot (tests): no addressee to compare
        return None


class StaffEntry(BaseHandler[Update, BotContext, None]):
    """The one PTB handler of the staff side: takes what `route_of` claims, runs the router."""

    def __init__(self, router: StaffRouter) -> None:
        super().__init__(self._callback)
        self.router = router

    async def _callback(self, update: Update, context: BotContext) -> None:  # pragma: no cover - see handle_update
        route = self.router.route_of(update)
        if route is not None:
            await self.router.handle(update, context, route)

    def check_update(self, update: object) -> Route | None:
        if not isinstance(update, Update):
            return None
        return self.router.route_of(update)

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, BotContext, Any, Any, Any, Any],
        check_result: object,
        context: BotContext,
    ) -> None:
        self.collect_additional_context(context, update, application, check_result)
        assert isinstance(check_result, Route)
        await self.router.handle(update, context, check_result)
