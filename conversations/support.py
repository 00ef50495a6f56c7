"""Writing to the support team: /support, the "contact our support" of the texts, and dead ends.

`/support` (or the ✍️ button under a staff answer) opens a thread with staff; a dead end of the
registration (a serial not in the catalogue, one registered to another account, a missing CHK
sticker) offers a button that opens the same journey with what it is about and the serial, so
the first message goes to staff as a request they can resolve (`/serial add`, `/product transfer`).

Each text or photo the customer sends is stored and queued for the staff chat in the update's
unit of work (storage/support.py); the customer may add more, then Done. Photos pass as the
messenger's file id: nothing is downloaded to be passed on.
"""

from __future__ import annotations

import enum

from telegram import InlineKeyboardMarkup

from conversations.flow import Flow, Step
from conversations.journey import Action, Answers, StaleButton
from conversations.replies import main_menu
from conversations.router import Router
from conversations.turn import Turn
from storage import members, support
from storage.photo_intake import PhotoUse
from storage.support import Subject, SupportRefused

FLOW = "support"
ACTION = "support"  # the global button's action: "support" (plain) or "support:<kind>:<serial>"
KINDS = {"u": Subject.UNKNOWN_SERIAL, "t": Subject.SERIAL_TAKEN, "c": Subject.NO_CHK}
CODES = {subject: code for code, subject in KINDS.items()}
MIN_SERIAL = 4


class S(enum.StrEnum):
    WRITE = "write"


class SupportAnswers(Answers):
    subject: Subject = Subject.GENERAL
    serial: str | None = None
    sent: int = 0


def _answers(turn: Turn) -> SupportAnswers:
    return turn.answers(SupportAnswers)


def request_button(turn: Turn, subject: Subject, serial: str) -> Action:
    """The action of a dead end's "ask our support" button (global: it works from the old message)."""
    return Action(ACTION, f"{CODES[subject]}:{support.clean_request_serial(serial)}")


def with_request_button(
    turn: Turn, markup: InlineKeyboardMarkup, subject: Subject, serial: str
) -> InlineKeyboardMarkup:
    """A step's keyboard with the dead end's support button on top (none for a serial too short to ask about)."""
    if len(support.clean_request_serial(serial)) < MIN_SERIAL:
        return markup
    button = turn.global_button(turn.t(f"support.button.{subject.value}"), request_button(turn, subject, serial))
    return InlineKeyboardMarkup([[button], *markup.inline_keyboard])


async def _open(turn: Turn, subject: Subject, serial: str | None) -> None:
    if not members.has_consent(turn.member):
        turn.say("support.needs_consent", markup=main_menu(turn) if turn.member is not None else None)
        return
    if turn.services.settings.staff_chat_id is None:
        turn.say("support.unavailable")
        return
    await turn.go(S.WRITE, subject=subject, serial=serial, sent=0)


async def start(turn: Turn) -> None:
    """/support: a plain message to staff (any journey in progress is left)."""
    await _open(turn, Subject.GENERAL, None)


async def on_button(turn: Turn, action: Action) -> None:
    """The global button: a plain thread, or a dead end's request ("u:SERIAL")."""
    if not action.argument:
        await _open(turn, Subject.GENERAL, None)
        return
    code, _, serial = action.argument.partition(":")
    subject = KINDS.get(code)
    if subject is None or not serial:
        raise StaleButton()
    await _open(turn, subject, serial)


async def ask_write(turn: Turn) -> None:
    answers = _answers(turn)
    if answers.sent:
        markup = turn.keyboard([[(turn.t("support.done"), "done")]], back=False, cancel=False)
        turn.say("support.sent", markup=markup)
        return
    turn.say(f"support.ask.{answers.subject.value}", serial=answers.serial or "", markup=turn.keyboard([], back=False))


async def _send(turn: Turn, text: str | None, photo: str | None) -> None:
    answers = _answers(turn)
    member = turn.member
    assert member is not None
    try:
        async with turn.session.begin_nested():
            await support.from_customer(
                turn.session,
                member,
                turn.now,
                staff_chat_id=turn.services.settings.staff_chat_id,
                text=text,
                photo_file_id=photo,
                subject=answers.subject,
                serial=answers.serial,
            )
    except SupportRefused as refused:
        turn.say(f"support.refused.{refused.error.value}")
        turn.reask()
        return
    await turn.remember(sent=answers.sent + 1)
    turn.reask()


async def on_text(turn: Turn) -> None:
    await _send(turn, turn.text, None)


async def on_photo(turn: Turn) -> None:
    message = turn.update.effective_message
    if message is None or not message.photo:
        turn.say("support.photos_only")
        turn.reask()
        return
    await _send(turn, message.caption, message.photo[-1].file_id)


async def on_action(turn: Turn, action: Action) -> None:
    if action.name != "done":
        raise StaleButton()
    await turn.finish()
    turn.say("support.thanks", markup=main_menu(turn))


# A photo is passed on by its file id; the engine's prefetch only reads it (nothing is stored).
STEPS = {
    S.WRITE: Step(
        ask_write,
        on_text=on_text,
        on_photo=on_photo,
        on_action=on_action,
        expects="text",
        photo_use=PhotoUse.READ_SERIALS,
    )
}


def setup(router: Router) -> None:
    router.add_flow(Flow(FLOW, STEPS, SupportAnswers))
    router.commands["support"] = start
    router.anytime.add("support")  # also from the middle of a journey: someone stuck must reach a person
    router.actions[ACTION] = on_button
