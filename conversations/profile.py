"""The profile: onboarding on /start, the profile card on /profile, the language on /language.

Onboarding asks one question per step, in this order: privacy-policy consent, e-mail, first
name, last name, region, contact number (optional), newsletter. Each answer is saved on the
member row by a `storage.members` service in the same unit of work as the next step, before the
bot replies. Without consent nothing but the refusal is stored. The steps are in
profile_steps.py, the moves they share (start, complete, the card) in profile_core.py.

Other journeys call `require_profile(turn, then="register")`: when the member has no completed
profile it starts this journey and, once the profile is saved, runs the command `then` so the
customer goes straight on.

The profile card's buttons ("Edit e-mail", …) run the same steps with `editing=True` in the
answers: the answer saves just that field and the card is shown again.

Language before consent: nothing may be stored about a person who has not consented, so no
member row is created for a language choice. A language picked before consent (on the consent
question, or with /language) is kept in the conversation state's answers (`language`) and applied
when the member row is created on consent. A person who refused has a row (the refusal) and
their language is saved on it.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from conversations.flow import Flow
from conversations.journey import Action, StaleButton, journey_of_name
from conversations.profile_core import (
    EDITABLE,
    FLOW,
    ProfileAnswers,
    S,
    apply_chosen_language,
    begin,
    card_keyboard,
    choose_language,
    commands,
    editing,
    render_profile,
    require_profile,
    telegram_first_name,
)
from conversations.profile_email import toggle_copies
from conversations.profile_steps import STEPS
from conversations.replies import main_menu
from conversations.router import Router
from conversations.turn import Turn
from locales import available_languages
from storage import members

__all__ = ["begin", "render_profile", "require_profile", "setup"]


async def start(turn: Turn) -> None:
    """/start: a member with a profile is welcomed back; anyone else begins (or resumes) it."""
    member = turn.member
    if members.is_complete(member):
        assert member is not None
        turn.say("profile.welcome_back", name=member.first_name or telegram_first_name(turn), markup=main_menu(turn))
        return
    await begin(turn)


async def show_profile(turn: Turn) -> None:
    """/profile: every field, with a button to edit each."""
    member = turn.member
    if not members.is_complete(member):
        await begin(turn)
        return
    assert member is not None
    turn.say_text(render_profile(turn, member), markup=card_keyboard(turn))


async def on_edit_button(turn: Turn, action: Action) -> None:
    """A card button (g:profile:<field>): runs that field's step with `editing=True`."""
    apply_chosen_language(turn)
    if action.argument == "copies" and members.is_complete(turn.member):
        await toggle_copies(turn)
        return
    if action.argument == "email" and turn.state is not None and turn.state.step == S.EMAIL_CODE:
        await turn.go(S.EMAIL)  # "Change the address" from a refused-mail notice, while the code is awaited
        return
    step = EDITABLE.get(action.argument)
    if step is None:
        raise StaleButton()
    if not members.is_complete(turn.member):
        await begin(turn)
        return
    if turn.state is not None and not editing(turn):
        turn.notify("profile.edit_busy", alert=True)
        return
    if turn.state is not None:
        await turn.finish()
    await turn.go(step, editing=True)


LANGUAGES_PER_ROW = 2  # seven languages: four short rows that fit a phone, not one row of slivers


async def language_command(turn: Turn) -> None:
    """/language (allowed mid-journey): each language named in itself."""
    apply_chosen_language(turn)
    translator = turn.services.translator
    buttons = [
        turn.global_button(translator.t(lang, "profile.language.self_name"), Action("language", lang))
        for lang in available_languages()
    ]
    rows = [buttons[i : i + LANGUAGES_PER_ROW] for i in range(0, len(buttons), LANGUAGES_PER_ROW)]
    turn.say("profile.language.ask", current=turn.t("profile.language.self_name"), markup=InlineKeyboardMarkup(rows))


async def on_language_button(turn: Turn, action: Action) -> None:
    """A language picked: confirmed in it, the menu re-sent in it, the current question re-asked."""
    apply_chosen_language(turn)
    language = action.argument
    if not language:
        await language_command(turn)
        return
    if language not in available_languages():
        raise StaleButton()
    await choose_language(turn, language)
    complete = members.is_complete(turn.member)
    turn.say("profile.language.set", markup=main_menu(turn) if complete else None)
    if turn.state is not None and journey_of_name(turn.state.flow) is not None:
        turn.reask()
    elif not complete:
        await begin(turn, language=language)


def setup(router: Router) -> None:
    """Adds this feature's commands, buttons and steps to the router."""
    commands.router = router
    router.add_flow(Flow(FLOW, STEPS, ProfileAnswers))
    router.commands |= {"start": start, "profile": show_profile, "language": language_command}
    router.anytime.add("language")
    router.actions |= {"profile": on_edit_button, "language": on_language_button}
