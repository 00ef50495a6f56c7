"""Routes every private-chat update to a command, a global button or the current step.

One unit of work per update: the turn's answers and next step are committed, then the
queued replies are delivered. Anything unexpected gets a clear answer and changes nothing.

The engine does what every step would otherwise repeat: it decodes a button once into an
`Action`, refuses a button of an older step (or one its handler raises `StaleButton` for) with a
toast, asks the next step's question after a handler moved on (`turn.go`), and checks once that
the saved answers still fit the journey's model: a state an older version saved that does not is
dropped with an apology instead of a traceback.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import ValidationError
from telegram import Update

from bot.context import BotContext
from bot.turns import claimed_unit_of_work, deliver
from conversations.flow import Flow, Handler, Step
from conversations.journey import Action, Press, StaleButton
from conversations.photos import Download, prefetch
from conversations.replies import main_menu
from conversations.turn import Turn
from storage import conversations, members
from storage.db import unit_of_work

log = logging.getLogger(__name__)
GlobalAction = Callable[[Turn, Action], Awaitable[None]]
MAX_PROMPTS = 5  # a prompt may move on again (a step with nothing left to ask); never forever
STEP_HINTS = 10_000  # users whose step this process remembers for the photo prefetch (about 2 MB)


@dataclass
class Router:
    flows: dict[str, Flow] = field(default_factory=dict)
    commands: dict[str, Handler] = field(default_factory=dict)
    anytime: set[str] = field(default_factory=lambda: {"cancel", "help", "faq"})  # allowed mid-journey
    menu: dict[str, str] = field(default_factory=dict)  # locale key of a menu label -> command
    actions: dict[str, GlobalAction] = field(default_factory=dict)
    fallback: Handler | None = None
    # (flow, step) each user was left at by this process's last commit: the photo prefetch reads
    # it instead of opening a transaction of its own (see `_prefetch_image`).
    steps: OrderedDict[int, tuple[str, str] | None] = field(default_factory=OrderedDict)

    def add_flow(self, flow: Flow) -> None:
        self.flows[flow.name] = flow

    async def handle(self, update: Update, context: BotContext) -> None:
        """PTB callback for every private message and button press.

        The user's lock comes first (a second bot process waits for this one's commit), then
        the update's id is claimed in the same unit of work as the answer, so a redelivered
        update is recognised and changes nothing (see `_redelivered`)."""
        services = context.services
        user = update.effective_user
        if user is None or update.effective_chat is None:
            return
        fetched = await self._prefetch_image(update, context)
        async with claimed_unit_of_work(services, update) as claimed:
            session = claimed.session
            member, state = await conversations.member_and_state(session, user.id)
            if member is not None and claimed.first_delivery:
                members.mark_reachable(member)
            chosen = state.data.get("language") if state is not None and member is None else None
            default = services.translator.resolve(user.language_code)
            language = member.language if member is not None else str(chosen or default)
            turn = Turn(update, context, session, language, claimed.now, member=member, state=state, download=fetched)
            await self._run(turn, first_delivery=claimed.first_delivery)
        self._remember_step(user.id, turn)
        await deliver(turn)

    def _remember_step(self, user_id: int, turn: Turn) -> None:
        """Notes where the committed turn left the user (bounded: the oldest notes go first)."""
        self.steps[user_id] = (turn.state.flow, turn.state.step) if turn.state is not None else None
        self.steps.move_to_end(user_id)
        while len(self.steps) > STEP_HINTS:
            self.steps.popitem(last=False)

    async def _run(self, turn: Turn, *, first_delivery: bool) -> None:
        """The update's handler, then the question of the step it moved to."""
        if not self._state_fits(turn):
            await turn.finish()
            turn.say("common.journey_reset", markup=main_menu(turn))
            if turn.update.callback_query is not None or self._command_of(turn, (turn.text or "").strip()) is None:
                return
        try:
            if first_delivery:
                await self.dispatch(turn)
            else:
                await self._redelivered(turn)
            for _ in range(MAX_PROMPTS):
                if not turn.prompt_pending:
                    break
                turn.prompt_pending = False
                await self.reprompt(turn)
        except StaleButton:
            turn.notify("errors.stale_button")

    def _state_fits(self, turn: Turn) -> bool:
        """False for a journey state this version cannot continue: a step that no longer exists,
        or answers that do not fit the journey's model (saved by an older version)."""
        flow = self.flows.get(turn.state.flow) if turn.state is not None else None
        if flow is None or turn.state is None:
            return True
        if flow.steps.get(turn.state.step) is None:
            log.warning("state of user %s at unknown step %s/%s: dropped", turn.user_id, flow.name, turn.state.step)
            return False
        try:
            turn.answers(flow.answers)
        except ValidationError as error:
            log.warning("state of user %s does not fit %s: dropped (%s)", turn.user_id, flow.name, error.errors()[:1])
            return False
        return True

    async def _redelivered(self, turn: Turn) -> None:
        """An update already applied came again; its answer is not taken a second time.

        The first delivery was committed, but its replies may never have gone out (the process
        died between commit and reply, which is why Telegram sent it again), so staying silent
        could leave the customer without a question. The current step is asked again instead;
        with no journey in progress the customer is told it was done and gets the menu. When
        the first replies did arrive, the customer sees the same question twice: harmless."""
        if turn.state is not None and turn.state.flow in self.flows and self._current_step(turn) is not None:
            turn.reask()
        else:
            turn.say("common.already_done", markup=main_menu(turn))

    async def _prefetch_image(self, update: Update, context: BotContext) -> Download | None:
        """Downloads a photo or image file and does its image work (checks, normalizing, hashes,
        barcodes, in a worker thread) before the unit of work opens, when the user's current step
        takes one, so neither a slow upload nor a big photo holds the database (one writer).

        The step is the one this process's last commit for the user left (`steps`): no second
        transaction. Only a note of a photo step is trusted; without one (first update since the
        start, or a note of another step) the state is read, as a note may be stale when several
        processes serve the user. A stale note costs a download that is not used, or preparing
        the photo again in the unit of work for the step it really is (photos.py `_prepared`)."""
        message = update.effective_message
        user = update.effective_user
        if update.callback_query is not None or message is None or user is None:
            return None
        if not (message.photo or message.document):
            return None
        step = self._photo_step(self.steps.get(user.id))
        if step is None:
            async with unit_of_work(context.services.sessions) as session:
                state = await conversations.load(session, user.id)
            step = self._photo_step((state.flow, state.step) if state is not None else None)
        if step is None or step.on_photo is None:
            return None
        return await prefetch(message, context.bot, context.services.media, step.photo_use)

    def _photo_step(self, where: tuple[str, str] | None) -> Step | None:
        """The step at `where` when it takes a photo."""
        flow = self.flows.get(where[0]) if where is not None else None
        step = flow.steps.get(where[1]) if flow is not None and where is not None else None
        return step if step is not None and step.on_photo is not None else None

    async def dispatch(self, turn: Turn) -> None:
        query = turn.update.callback_query
        if query is not None:
            await self._on_button(turn, query.data or "")
            return
        text = (turn.text or "").strip()
        command = self._command_of(turn, text)
        if command is not None:
            await self._on_command(turn, command)
        elif turn.state is not None and turn.state.flow in self.flows:
            await self._on_answer(turn)
        elif self.fallback is not None:
            await self.fallback(turn)

    def _command_of(self, turn: Turn, text: str) -> str | None:
        if text.startswith("/"):
            return text[1:].split()[0].split("@")[0].lower() if len(text) > 1 else ""
        for key, command in self.menu.items():
            if text in turn.services.translator.every(key).values():
                return command
        return None

    async def _on_command(self, turn: Turn, command: str) -> None:
        handler = self.commands.get(command)
        if handler is None:
            turn.say("errors.unknown_command", command=command)
            return
        if turn.state is not None and turn.state.flow in self.flows and command not in self.anytime:
            turn.say("errors.busy", command=command)
            turn.reask()
            return
        await handler(turn)

    async def _on_button(self, turn: Turn, data: str) -> None:
        """Decodes the press once; a global button runs its action, a step's button is taken only
        while its step is current (same version), else the engine answers it as stale."""
        press = Press.decode(data)
        turn.action = press.action
        if press.version is None:
            handler = self.actions.get(press.action.name)
            if handler is None:
                raise StaleButton()
            await handler(turn, press.action)
            return
        if turn.state is None or turn.state.flow not in self.flows or turn.version != press.version:
            raise StaleButton()
        if press.action.name == "cancel":
            await self.commands["cancel"](turn)
        elif press.action.name == "back":
            if await turn.back() is None:
                turn.notify("errors.first_step")
            turn.reask()
        else:
            step = self._current_step(turn)
            if step is None or step.on_action is None:
                raise StaleButton()
            await step.on_action(turn, press.action)

    async def _on_answer(self, turn: Turn) -> None:
        step = self._current_step(turn)
        if step is None:
            await turn.finish()
            return
        message = turn.update.effective_message
        assert message is not None
        handler = None
        if message.text is not None:
            handler = step.on_text
        elif message.photo or (message.document is not None):
            handler = step.on_photo
        elif message.contact is not None:
            handler = step.on_contact
        if handler is None:
            turn.say(f"errors.expected_{step.expects}")
            turn.reask()
            return
        await handler(turn)

    def _current_step(self, turn: Turn) -> Step | None:
        assert turn.state is not None
        return self.flows[turn.state.flow].steps.get(turn.state.step)

    async def reprompt(self, turn: Turn) -> None:
        """Asks the current step's question again (after a stray command, Back or a restart)."""
        if turn.state is None or turn.state.flow not in self.flows:
            return
        step = self._current_step(turn)
        if step is not None:
            await step.prompt(turn)
