"""The profile: onboarding on /start, the profile card on /profile, the language on /language.

Onboarding asks one question per step, in this order: privacy-policy consent, e-mail, first
name, last name, region, contact number (optional), newsletter. Each answer is saved on the
member row by a `storage.members` service in the same unit of work as the next step, before the
bot replies. Without consent nothing but the refusal is stored.

Other journeys call `require_profile(turn, then="register")`: when the member has no completed
profile it starts this journey and, once the profile is saved, runs the command `then` so the
customer goes straight on.

The profile card's buttons ("Edit e-mail", …) run the same steps with `editing=True` in the
state data: the answer saves just that field and the card is shown again.

Language before consent: nothing may be stored about a person who has not consented, so no
member row is created for a language choice. A language picked before consent (on the consent
question, or with /language) is kept in the conversation state data (`language`) and applied
when the member row is created on consent. A person who refused has a row (the refusal) and
their language is saved on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from telegram import InlineKeyboardMarkup, ReplyKeyboardRemove

from locales.countries import COMMON_COUNTRIES, country_name, exact_country, is_country, search_countries
from conversations.flow import Flow, Step
from conversations.replies import main_menu
from conversations.router import Router
from conversations.turn import Turn
from locales import available_languages
from storage import members
from storage.models import Member

FLOW = "profile"
CONSENT, EMAIL, FIRST_NAME, LAST_NAME, COUNTRY, PHONE, NEWSLETTER = "consent", "email", "first_name", "last_name", "country", "phone", "newsletter"
_FIRST_MISSING = {"email": EMAIL, "first_name": FIRST_NAME, "last_name": LAST_NAME, "country": COUNTRY}
_EDITABLE = {"email": EMAIL, "name": FIRST_NAME, "country": COUNTRY, "phone": PHONE, "newsletter": NEWSLETTER}

_router: Router | None = None  # set by setup(): `then` commands and re-asking live on the router


# ---- helpers ---------------------------------------------------------------------------------
def _apply_chosen_language(turn: Turn) -> None:
    """Before consent there is no member row: a chosen language lives in the state data."""
    chosen = turn.data.get("language")
    if turn.member is None and chosen in available_languages():
        turn.language = chosen


def _localized(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    async def wrapper(turn: Turn, *args: Any) -> None:
        _apply_chosen_language(turn)
        await handler(turn, *args)

    wrapper.__doc__ = handler.__doc__
    return wrapper


def _keyboard(turn: Turn, rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Back only when there is a step to go back to; Cancel always."""
    return turn.keyboard(rows, back=len(turn.data.get("_path", [])) > 1)


def _editing(turn: Turn) -> bool:
    return bool(turn.data.get("editing"))


def _first_step(member: Member | None) -> str:
    """Where onboarding starts (or resumes, for a member who stopped half-way)."""
    if not members.has_consent(member):
        return CONSENT
    assert member is not None
    missing = members.missing_fields(member)
    return _FIRST_MISSING[missing[0]] if missing else PHONE


def _telegram_first_name(turn: Turn) -> str:
    user = turn.update.effective_user
    return (user.first_name if user is not None else "") or ""


async def _ask(turn: Turn, step: str, **answers: Any) -> None:
    """Moves to `step` (committing `answers` with it) and asks its question."""
    await turn.move(FLOW, step, **answers)
    await STEPS[step].prompt(turn)


async def begin(turn: Turn, *, then: str | None = None, intro: str | None = None, language: str | None = None) -> None:
    """Starts (or restarts) the profile journey at the first step still to answer."""
    language = language or (turn.data.get("language") if turn.member is None else None)
    if turn.state is not None:
        await turn.finish()
    if language in available_languages() and turn.member is None:
        turn.language = language
    answers: dict[str, Any] = {"then": then}
    if language and turn.member is None:
        answers["language"] = language
    member = turn.member
    if intro is None:
        intro = "profile.needed" if members.has_consent(member) else "profile.welcome"
    name = member.first_name if member is not None and member.first_name and members.has_consent(member) else _telegram_first_name(turn)
    turn.say(intro, name=name)
    await _ask(turn, _first_step(member), **answers)


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
        first_name=member.first_name or "",
        last_name=member.last_name or "",
        country=country_name(member.country, turn.language) if member.country else "—",
        phone=members.format_phone(member.phone) if member.phone else turn.t("profile.card.no_phone"),
        newsletter=turn.t("profile.card.subscribed" if member.newsletter else "profile.card.not_subscribed"),
        language=turn.services.translator.t(member.language, "profile.language.self_name"),
    )
    return f"{turn.t('profile.card.title')}\n{body}"


def _card_keyboard(turn: Turn) -> InlineKeyboardMarkup:
    def button(key: str, action: str):  # type: ignore[no-untyped-def]
        return turn.global_button(turn.t(key), action)

    return InlineKeyboardMarkup(
        [
            [button("profile.card.edit_email", "profile:email"), button("profile.card.edit_name", "profile:name")],
            [button("profile.card.edit_country", "profile:country"), button("profile.card.edit_phone", "profile:phone")],
            [button("profile.card.edit_newsletter", "profile:newsletter"), button("profile.card.change_language", "language:")],
        ]
    )


async def _show_edited(turn: Turn, member: Member, *, saved: bool = True) -> None:
    """Editing is over: the card again, with its buttons."""
    await turn.finish()
    card = render_profile(turn, member)
    turn.say_text(f"{turn.t('profile.saved')}\n\n{card}" if saved else card, markup=_card_keyboard(turn))


async def _complete(turn: Turn) -> None:
    """The last answer: the profile is complete; summary, menu, then where the user was going."""
    try:
        member = await members.complete_profile(turn.session, turn.user_id, now=turn.now)
    except members.IncompleteProfile:  # a required answer went missing (e.g. data deleted meanwhile)
        await _ask(turn, _first_step(turn.member))
        return
    turn.member = member
    then = turn.data.get("then")
    await turn.finish()
    turn.say_text(f"{turn.t('profile.completed')}\n\n{render_profile(turn, member)}", markup=main_menu(turn))
    if then and _router is not None and then in _router.commands:
        await _router.commands[then](turn)


# ---- 1. consent ------------------------------------------------------------------------------
async def ask_consent(turn: Turn) -> None:
    rows = [[(turn.t("profile.consent.agree"), "agree"), (turn.t("profile.consent.decline"), "decline")]]
    others = [lang for lang in available_languages() if lang != turn.language]
    rows.append([(turn.services.translator.t(lang, "profile.language.self_name"), f"lang:{lang}") for lang in others])
    turn.say("profile.consent.ask", url=turn.services.settings.privacy_policy_url, markup=_keyboard(turn, rows))


async def on_consent(turn: Turn, action: str) -> None:
    user = turn.update.effective_user
    if action == "agree":
        member = await members.give_consent(
            turn.session,
            telegram_user_id=turn.user_id,
            chat_id=turn.chat_id,
            language=turn.language,
            now=turn.now,
            username=user.username if user is not None else None,
        )
        turn.member = member
        await _ask(turn, _first_step(member))
    elif action == "decline":
        try:
            await members.refuse_consent(turn.session, telegram_user_id=turn.user_id, chat_id=turn.chat_id, language=turn.language, now=turn.now)
        except members.ProfileError:  # a completed profile is not "refused": nothing to do
            pass
        await turn.finish()
        turn.say("profile.consent.declined", markup=ReplyKeyboardRemove())
    elif action.startswith("lang:") and action[5:] in available_languages():
        await _choose_language(turn, action[5:])
        await ask_consent(turn)
    else:
        turn.notify("errors.stale_button")


# ---- 2. e-mail -------------------------------------------------------------------------------
async def ask_email(turn: Turn) -> None:
    member = turn.member
    if _editing(turn) and member is not None and member.email:
        turn.say("profile.email.ask_edit", current=member.email, markup=_keyboard(turn, []))
    else:
        turn.say("profile.email.ask", markup=_keyboard(turn, []))


async def _save(turn: Turn, save: Awaitable[Member], refusals: Mapping[type[Exception], str] | None = None) -> Member | None:
    """Runs one profile setter: a refused answer gets its message, a missing consent restarts
    the journey; None in both cases."""
    try:
        return await save
    except members.ConsentRequired:
        await begin(turn, then=turn.data.get("then"))
    except tuple(refusals or {}) as refused:
        turn.say((refusals or {})[type(refused)])
    return None


async def _go_on(turn: Turn, member: Member, next_field: str | None) -> None:
    """After an answer: back to the profile when editing one field, else the next question."""
    if _editing(turn):
        await _show_edited(turn, member)
    elif next_field is None:
        await _complete(turn)
    else:
        await _ask(turn, next_field)


async def on_email(turn: Turn) -> None:
    save = members.set_email(turn.session, turn.user_id, turn.text or "", now=turn.now)
    member = await _save(turn, save, {members.InvalidEmail: "profile.email.invalid", members.EmailTaken: "profile.email.taken"})
    if member is not None:
        await _go_on(turn, member, FIRST_NAME)


# ---- 3-4. names ------------------------------------------------------------------------------
def _ask_name(field: str) -> Callable[[Turn], Awaitable[None]]:
    async def ask(turn: Turn) -> None:
        current = getattr(turn.member, field, None) if turn.member is not None else None
        if _editing(turn) and current:
            turn.say(f"profile.{field}.ask_edit", current=current, markup=_keyboard(turn, []))
        else:
            turn.say(f"profile.{field}.ask", markup=_keyboard(turn, []))

    return ask


def _on_name(field: str) -> Callable[[Turn], Awaitable[None]]:
    async def on_text(turn: Turn) -> None:
        try:
            member = await members.set_names(turn.session, turn.user_id, now=turn.now, **{field: turn.text or ""})
        except members.InvalidName as exc:
            turn.say(f"profile.name.{exc.details['reason']}", max=members.NAME_MAX)
            return
        except members.ConsentRequired:
            await begin(turn, then=turn.data.get("then"))
            return
        if field == "first_name":
            await _ask(turn, LAST_NAME)
        elif _editing(turn):
            await _show_edited(turn, member)
        else:
            await _ask(turn, COUNTRY)

    return on_text


# ---- 5. region -------------------------------------------------------------------------------
def _country_rows(turn: Turn, codes: list[str], per_row: int) -> list[list[tuple[str, str]]]:
    buttons = [(country_name(code, turn.language), f"cc:{code}") for code in codes]
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def _common_codes(turn: Turn) -> list[str]:
    current = turn.member.country if turn.member is not None else None
    return list(dict.fromkeys([c for c in [current, *COMMON_COUNTRIES] if c]))


async def ask_country(turn: Turn) -> None:
    member = turn.member
    markup = _keyboard(turn, _country_rows(turn, _common_codes(turn), 3))
    if _editing(turn) and member is not None and member.country:
        turn.say("profile.country.ask_edit", current=country_name(member.country, turn.language), markup=markup)
    else:
        turn.say("profile.country.ask", markup=markup)


async def on_country_text(turn: Turn) -> None:
    """An exact name or ISO code is taken; part of a name offers the matches as buttons."""
    text = (turn.text or "").strip()
    exact = exact_country(text)
    if exact is not None:
        await _set_country(turn, exact)
        return
    matches = search_countries(text, turn.language, limit=8)
    if matches:
        turn.say("profile.country.pick", markup=_keyboard(turn, _country_rows(turn, matches, 2)))
    else:
        turn.say("profile.country.no_match", query=text[:40], markup=_keyboard(turn, _country_rows(turn, _common_codes(turn), 3)))


async def on_country_action(turn: Turn, action: str) -> None:
    kind, _, code = action.partition(":")
    if kind != "cc":
        turn.notify("errors.stale_button")
        return
    await _set_country(turn, code)


async def _set_country(turn: Turn, code: str) -> None:
    if not is_country(code):
        turn.notify("errors.stale_button")
        return
    member = await _save(turn, members.set_country(turn.session, turn.user_id, code, now=turn.now), {members.UnknownCountry: "errors.stale_button"})
    if member is not None:
        await _go_on(turn, member, PHONE)


# ---- 6. contact number (optional) ------------------------------------------------------------
async def ask_phone(turn: Turn) -> None:
    """Two messages: the question with Skip/Back/Cancel, then the share-contact keyboard."""
    member = turn.member
    markup = _keyboard(turn, [[(turn.t("profile.phone.skip"), "skip")]])
    if _editing(turn) and member is not None and member.phone:
        turn.say("profile.phone.ask_edit", current=members.format_phone(member.phone), markup=markup)
    else:
        turn.say("profile.phone.ask", markup=markup)
    turn.say("profile.phone.share_hint", markup=turn.contact_keyboard("profile.phone.share", "profile.phone.skip"))


async def on_phone_text(turn: Turn) -> None:
    text = (turn.text or "").strip()
    if text in turn.services.translator.every("profile.phone.skip").values():
        await _set_phone(turn, None)
    else:
        await _set_phone(turn, text)


async def on_phone_contact(turn: Turn) -> None:
    contact = turn.contact
    assert contact is not None
    if contact.user_id is not None and contact.user_id != turn.user_id:
        turn.say("profile.phone.not_yours")
        return
    await _set_phone(turn, contact.phone_number, shared=True)


async def on_phone_action(turn: Turn, action: str) -> None:
    if action == "skip":
        await _set_phone(turn, None)
    else:
        turn.notify("errors.stale_button")


async def _set_phone(turn: Turn, phone: str | None, *, shared: bool = False) -> None:
    try:
        member = await members.set_phone(turn.session, turn.user_id, phone, now=turn.now, shared=shared)
    except members.InvalidPhone:
        turn.say("profile.phone.invalid")
        return
    except members.ConsentRequired:
        await begin(turn, then=turn.data.get("then"))
        return
    # the share-contact keyboard goes away: the menu when editing, nothing during onboarding
    markup = main_menu(turn) if _editing(turn) else ReplyKeyboardRemove()
    if member.phone:
        turn.say("profile.phone.saved", phone=members.format_phone(member.phone), markup=markup)
    else:
        turn.say("profile.phone.skipped", markup=markup)
    if _editing(turn):
        await _show_edited(turn, member, saved=False)
    else:
        await _ask(turn, NEWSLETTER)


# ---- 7. newsletter ---------------------------------------------------------------------------
async def ask_newsletter(turn: Turn) -> None:
    rows = [[(turn.t("profile.newsletter.yes"), "yes"), (turn.t("profile.newsletter.no"), "no")]]
    turn.say("profile.newsletter.ask", markup=_keyboard(turn, rows))


async def on_newsletter(turn: Turn, action: str) -> None:
    if action not in ("yes", "no"):
        turn.notify("errors.stale_button")
        return
    member = await _save(turn, members.set_newsletter(turn.session, turn.user_id, action == "yes", now=turn.now))
    if member is not None:
        await _go_on(turn, member, None)


STEPS: dict[str, Step] = {
    CONSENT: Step(prompt=_localized(ask_consent), on_action=_localized(on_consent)),
    EMAIL: Step(prompt=_localized(ask_email), on_text=_localized(on_email), expects="text"),
    FIRST_NAME: Step(prompt=_localized(_ask_name("first_name")), on_text=_localized(_on_name("first_name")), expects="text"),
    LAST_NAME: Step(prompt=_localized(_ask_name("last_name")), on_text=_localized(_on_name("last_name")), expects="text"),
    COUNTRY: Step(prompt=_localized(ask_country), on_text=_localized(on_country_text), on_action=_localized(on_country_action), expects="text"),
    PHONE: Step(
        prompt=_localized(ask_phone),
        on_text=_localized(on_phone_text),
        on_contact=_localized(on_phone_contact),
        on_action=_localized(on_phone_action),
        expects="text",
    ),
    NEWSLETTER: Step(prompt=_localized(ask_newsletter), on_action=_localized(on_newsletter)),
}


# ---- commands and global buttons -------------------------------------------------------------
async def start(turn: Turn) -> None:
    """/start: a member with a profile is welcomed back; anyone else begins (or resumes) it."""
    member = turn.member
    if members.is_complete(member):
        assert member is not None
        turn.say("profile.welcome_back", name=member.first_name or _telegram_first_name(turn), markup=main_menu(turn))
        return
    await begin(turn)


async def show_profile(turn: Turn) -> None:
    """/profile: every field, with a button to edit each."""
    member = turn.member
    if not members.is_complete(member):
        await begin(turn)
        return
    assert member is not None
    turn.say_text(render_profile(turn, member), markup=_card_keyboard(turn))


async def on_edit_button(turn: Turn, field: str) -> None:
    """A card button: runs that field's step with `editing=True`."""
    _apply_chosen_language(turn)
    step = _EDITABLE.get(field)
    if step is None:
        turn.notify("errors.stale_button")
        return
    if not members.is_complete(turn.member):
        await begin(turn)
        return
    if turn.state is not None and not (turn.state.flow == FLOW and _editing(turn)):
        turn.notify("profile.edit_busy", alert=True)
        return
    if turn.state is not None:
        await turn.finish()
    await _ask(turn, step, editing=True)


async def language_command(turn: Turn) -> None:
    """/language (allowed mid-journey): each language named in itself."""
    _apply_chosen_language(turn)
    translator = turn.services.translator
    buttons = [turn.global_button(translator.t(lang, "profile.language.self_name"), f"language:{lang}") for lang in available_languages()]
    turn.say("profile.language.ask", current=turn.t("profile.language.self_name"), markup=InlineKeyboardMarkup([buttons]))


async def _choose_language(turn: Turn, language: str) -> None:
    """Saves the choice on the member row, or (no row before consent) in the state data."""
    turn.language = language
    member = await members.set_language(turn.session, turn.user_id, language, now=turn.now)
    if member is None and turn.state is not None:
        await turn.move(turn.state.flow, turn.state.step, language=language)


async def on_language_button(turn: Turn, language: str) -> None:
    """A language picked: confirmed in it, the menu re-sent in it, the current question re-asked."""
    _apply_chosen_language(turn)
    if not language:
        await language_command(turn)
        return
    if language not in available_languages():
        turn.notify("errors.stale_button")
        return
    await _choose_language(turn, language)
    complete = members.is_complete(turn.member)
    turn.say("profile.language.set", markup=main_menu(turn) if complete else None)
    if turn.state is not None and _router is not None and turn.state.flow in _router.flows:
        await _router.reprompt(turn)
    elif not complete:
        await begin(turn, language=language)


def setup(router: Router) -> None:
    """Adds this feature's commands, buttons and steps to the router."""
    global _router
    _router = router
    router.add_flow(Flow(FLOW, STEPS))
    router.commands |= {"start": start, "profile": show_profile, "language": language_command}
    router.anytime.add("language")
    router.actions |= {"profile": on_edit_button, "language": on_language_button}
