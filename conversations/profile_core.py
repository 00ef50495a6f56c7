"""The profile journey's state and the moves every step shares: start, finish, the card.

See conversations/profile.py for the journey as a whole. Steps are `S`; answers (`ProfileAnswers`)
are only where the journey goes next: the profile fields themselves are saved on the member row.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from conversations.journey import Action, Answers, ButtonRows
from conversations.replies import main_menu
from conversations.router import Router
from conversations.turn import Turn
from locales import available_languages
from locales.countries import country_name
from locales.i18n import Raw, person_name
from storage import members
from storage.models import Member

FLOW = "profile"


class S(enum.StrEnum):
    """The onboarding questions, in the order they are asked."""

    CONSENT = "consent"
    EMAIL = "email"
    EMAIL_CODE = "email_code"  # the code mailed to the address (conversations/profile_email.py)
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    COUNTRY = "country"
    PHONE = "phone"
    NEWSLETTER = "newsletter"


class ProfileAnswers(Answers):
    then: str | None = None  # the command to run once the profile is complete
    editing: bool = False  # one field opened from the profile card: its answer shows the card again


FIRST_MISSING = {"email": S.EMAIL, "first_name": S.FIRST_NAME, "last_name": S.LAST_NAME, "country": S.COUNTRY}
EDITABLE = {"email": S.EMAIL, "name": S.FIRST_NAME, "country": S.COUNTRY, "phone": S.PHONE, "newsletter": S.NEWSLETTER}


class _Commands:
    """The router's commands, for `then` (set by profile.setup)."""

    router: Router | None = None


commands = _Commands()


def answers(turn: Turn) -> ProfileAnswers:
    return turn.answers(ProfileAnswers)


def editing(turn: Turn) -> bool:
    return turn.state is not None and turn.state.flow == FLOW and answers(turn).editing


def apply_chosen_language(turn: Turn) -> None:
    """Before consent there is no member row: a chosen language lives in the state data."""
    chosen = turn.data.get("language")
    if turn.member is None and chosen in available_languages():
        turn.language = str(chosen)


def localized(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    async def wrapper(turn: Turn, *args: Any) -> None:
        apply_chosen_language(turn)
        await handler(turn, *args)

    wrapper.__doc__ = handler.__doc__
    return wrapper


def keyboard(turn: Turn, rows: ButtonRows) -> InlineKeyboardMarkup:
    """Back only when there is a step to go back to; Cancel always."""
    return turn.keyboard(rows, back=len(turn.step_path) > 1)


def first_step(member: Member | None, *, verify: bool = False) -> S:
    """Where onboarding starts (or resumes, for a member who stopped half-way); with `verify`
    (EMAIL_VERIFICATION=on) a new member's address is proven before the questions go on."""
    if not members.has_consent(member):
        return S.CONSENT
    assert member is not None
    missing = members.missing_fields(member)
    unproven = verify and member.email and member.email_verified_at is None and member.profile_completed_at is None
    if missing and unproven and missing[0] != "email":
        return S.EMAIL_CODE
    return FIRST_MISSING[missing[0]] if missing else S.PHONE


def telegram_first_name(turn: Turn) -> str:
    user = turn.update.effective_user
    return (user.first_name if user is not None else "") or ""


async def begin(turn: Turn, *, then: str | None = None, intro: str | None = None, language: str | None = None) -> None:
    """Starts (or restarts) the profile journey at the first step still to answer."""
    language = language or (turn.data.get("language") if turn.member is None else None)
    if turn.state is not None:
        await turn.finish()
    if language in available_languages() and turn.member is None:
        turn.language = str(language)
    extra: dict[str, Any] = {"then": then}
    if language and turn.member is None:
        extra["language"] = language
    member = turn.member
    if intro is None:
        intro = "profile.needed" if members.has_consent(member) else "profile.welcome"
    name = (
        member.first_name
        if member is not None and member.first_name and members.has_consent(member)
        else telegram_first_name(turn)
    )
    turn.say(intro, name=name)
    await turn.go(first_step(member, verify=turn.services.settings.verify_email), **extra)


async def require_profile(turn: Turn, then: str) -> bool:
    """True when the member's profile is complete. Otherwise starts the profile journey and,
    once it is saved, runs the command `then` (a key of `router.commands`); returns False."""
    if members.is_complete(turn.member):
        return True
    await begin(turn, then=then)
    return False


def render_profile(turn: Turn, member: Member) -> str:
    """The profile card's text, in the turn's language."""
    body = turn.t(
        "profile.card.body",
        email=member.email or "—",
        name=person_name(member.first_name, member.last_name, turn.language) or "—",
        country=country_name(member.country, turn.language) if member.country else "—",
        phone=members.format_phone(member.phone) if member.phone else turn.t("profile.card.no_phone"),
        newsletter=turn.t("profile.card.subscribed" if member.newsletter else "profile.card.not_subscribed"),
        language=turn.services.translator.t(member.language, "profile.language.self_name"),
    )
    status = (
        "email.status.undeliverable"
        if member.email_undeliverable_at
        else "email.status.verified"
        if member.email_verified_at
        else "email.status.unverified"
    )
    return f"{turn.t('profile.card.title')}\n{body}\n{turn.t('email.card_line', status=Raw(turn.t(status)))}"


def card_keyboard(turn: Turn) -> InlineKeyboardMarkup:
    def button(key: str, action: Action) -> InlineKeyboardButton:
        return turn.global_button(turn.t(key), action)

    return InlineKeyboardMarkup(
        [
            [
                button("profile.card.edit_email", Action("profile", "email")),
                button("profile.card.edit_name", Action("profile", "name")),
            ],
            [
                button("profile.card.edit_country", Action("profile", "country")),
                button("profile.card.edit_phone", Action("profile", "phone")),
            ],
            [
                button("profile.card.edit_newsletter", Action("profile", "newsletter")),
                button("profile.card.change_language", Action("language")),
            ],
            *_copies_row(turn, button),
        ]
    )


def _copies_row(turn: Turn, button: Callable[[str, Action], InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """The opt-in copy of each decision by e-mail, where the bot can send mail."""
    if not turn.services.settings.mail_enabled or turn.member is None:
        return []
    on = turn.member.email_copies
    return [[button("email.copies.on" if on else "email.copies.off", Action("profile", "copies"))]]


async def show_edited(turn: Turn, member: Member, *, saved: bool = True) -> None:
    """Editing is over: the card again, with its buttons."""
    await turn.finish()
    card = render_profile(turn, member)
    turn.say_text(f"{turn.t('profile.saved')}\n\n{card}" if saved else card, markup=card_keyboard(turn))


async def complete(turn: Turn) -> None:
    """The last answer: the profile is complete; summary, menu, then where the user was going."""
    try:
        member = await members.complete_profile(turn.session, turn.user_id, now=turn.now)
    except members.IncompleteProfile:  # a required answer went missing (e.g. data deleted meanwhile)
        await turn.go(first_step(turn.member, verify=turn.services.settings.verify_email))
        return
    turn.member = member
    then = answers(turn).then
    await turn.finish()
    turn.say_text(f"{turn.t('profile.completed')}\n\n{render_profile(turn, member)}", markup=main_menu(turn))
    router = commands.router
    if then and router is not None and then in router.commands:
        await router.commands[then](turn)


async def save(
    turn: Turn, saving: Awaitable[Member], refusals: Mapping[type[Exception], str] | None = None
) -> Member | None:
    """Runs one profile setter: a refused answer gets its message, a missing consent restarts
    the journey; None in both cases."""
    try:
        return await saving
    except members.ConsentRequired:
        await begin(turn, then=answers(turn).then)
    except tuple(refusals or {}) as refused:
        turn.say((refusals or {})[type(refused)])
    return None


async def go_on(turn: Turn, member: Member, next_step: S | None) -> None:
    """After an answer: back to the profile when editing one field, else the next question."""
    if editing(turn):
        await show_edited(turn, member)
    elif next_step is None:
        await complete(turn)
    else:
        await turn.go(next_step)


async def choose_language(turn: Turn, language: str) -> None:
    """Saves the choice on the member row, or (no row before consent) in the state data."""
    turn.language = language
    member = await members.set_language(turn.session, turn.user_id, language, now=turn.now)
    if member is None and turn.state is not None:
        await turn.remember(language=language)
