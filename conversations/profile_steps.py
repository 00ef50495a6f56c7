"""The profile journey's questions, one per step: consent, e-mail, names, region, phone, newsletter.

Each answer is saved on the member row by a `storage.members` service (which holds the rules) in
the same unit of work as the next step; see conversations/profile.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import ReplyKeyboardRemove

from conversations.flow import Step
from conversations.journey import Action, ButtonRows, StaleButton
from conversations.profile_core import (
    S,
    answers,
    begin,
    choose_language,
    editing,
    first_step,
    go_on,
    keyboard,
    localized,
    save,
    show_edited,
)
from conversations.profile_email import after_address, ask_code, on_code, on_code_action
from conversations.replies import main_menu
from conversations.turn import Turn
from locales import available_languages
from locales.countries import COMMON_COUNTRIES, country_name, exact_country, is_country, search_countries
from storage import members


# ---- 1. consent ------------------------------------------------------------------------------
async def ask_consent(turn: Turn) -> None:
    rows: ButtonRows = [[(turn.t("profile.consent.agree"), "agree"), (turn.t("profile.consent.decline"), "decline")]]
    others = [lang for lang in available_languages() if lang != turn.language]
    names: list[tuple[str, Action | str]] = [
        (turn.services.translator.t(lang, "profile.language.self_name"), Action("lang", lang)) for lang in others
    ]
    rows += [names[i : i + 3] for i in range(0, len(names), 3)]
    turn.say("profile.consent.ask", url=turn.services.settings.privacy_policy_url, markup=keyboard(turn, rows))


async def on_consent(turn: Turn, action: Action) -> None:
    user = turn.update.effective_user
    if action.name == "agree":
        member = await members.give_consent(
            turn.session,
            telegram_user_id=turn.user_id,
            chat_id=turn.chat_id,
            language=turn.language,
            now=turn.now,
            username=user.username if user is not None else None,
        )
        turn.member = member
        await turn.go(first_step(member, verify=turn.services.settings.verify_email))
    elif action.name == "decline":
        try:
            await members.refuse_consent(
                turn.session, telegram_user_id=turn.user_id, chat_id=turn.chat_id, language=turn.language, now=turn.now
            )
        except members.ProfileError:  # a completed profile is not "refused": nothing to do
            pass
        await turn.finish()
        turn.say("profile.consent.declined", markup=ReplyKeyboardRemove())
    elif action.name == "lang" and action.argument in available_languages():
        await choose_language(turn, action.argument)
        turn.reask()
    else:
        raise StaleButton()


# ---- 2. e-mail -------------------------------------------------------------------------------
async def ask_email(turn: Turn) -> None:
    member = turn.member
    if editing(turn) and member is not None and member.email:
        turn.say("profile.email.ask_edit", current=member.email, markup=keyboard(turn, []))
    else:
        turn.say("profile.email.ask", markup=keyboard(turn, []))


async def on_email(turn: Turn) -> None:
    saving = members.set_email(turn.session, turn.user_id, turn.text or "", now=turn.now)
    member = await save(
        turn, saving, {members.InvalidEmail: "profile.email.invalid", members.EmailTaken: "profile.email.taken"}
    )
    if member is not None:
        await after_address(turn, member, S.FIRST_NAME)


# ---- 3-4. names ------------------------------------------------------------------------------
def _ask_name(field: str) -> Callable[[Turn], Awaitable[None]]:
    async def ask(turn: Turn) -> None:
        current = getattr(turn.member, field, None) if turn.member is not None else None
        if editing(turn) and current:
            turn.say(f"profile.{field}.ask_edit", current=current, markup=keyboard(turn, []))
        else:
            turn.say(f"profile.{field}.ask", markup=keyboard(turn, []))

    return ask


def _on_name(field: str) -> Callable[[Turn], Awaitable[None]]:
    async def on_text(turn: Turn) -> None:
        try:
            member = await members.set_names(turn.session, turn.user_id, now=turn.now, **{field: turn.text or ""})
        except members.InvalidName as exc:
            turn.say(f"profile.name.{exc.details['reason']}", max=members.NAME_MAX)
            return
        except members.ConsentRequired:
            await begin(turn, then=answers(turn).then)
            return
        if field == "first_name":
            await turn.go(S.LAST_NAME)
        elif editing(turn):
            await show_edited(turn, member)
        else:
            await turn.go(S.COUNTRY)

    return on_text


# ---- 5. region -------------------------------------------------------------------------------
def _country_rows(turn: Turn, codes: list[str], per_row: int) -> ButtonRows:
    buttons: list[tuple[str, Action | str]] = [
        (country_name(code, turn.language), Action("cc", code)) for code in codes
    ]
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def _common_codes(turn: Turn) -> list[str]:
    current = turn.member.country if turn.member is not None else None
    return list(dict.fromkeys([c for c in [current, *COMMON_COUNTRIES] if c]))


async def ask_country(turn: Turn) -> None:
    member = turn.member
    markup = keyboard(turn, _country_rows(turn, _common_codes(turn), 3))
    if editing(turn) and member is not None and member.country:
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
        turn.say("profile.country.pick", markup=keyboard(turn, _country_rows(turn, matches, 2)))
    else:
        turn.say(
            "profile.country.no_match",
            query=text[:40],
            markup=keyboard(turn, _country_rows(turn, _common_codes(turn), 3)),
        )


async def on_country_action(turn: Turn, action: Action) -> None:
    if action.name != "cc":
        raise StaleButton()
    await _set_country(turn, action.argument)


async def _set_country(turn: Turn, code: str) -> None:
    if not is_country(code):
        raise StaleButton()
    member = await save(
        turn,
        members.set_country(turn.session, turn.user_id, code, now=turn.now),
        {members.UnknownCountry: "errors.stale_button"},
    )
    if member is not None:
        await go_on(turn, member, S.PHONE)


# ---- 6. contact number (optional) ------------------------------------------------------------
async def ask_phone(turn: Turn) -> None:
    """Two messages: the question with Skip/Back/Cancel, then the share-contact keyboard."""
    member = turn.member
    markup = keyboard(turn, [[(turn.t("profile.phone.skip"), "skip")]])
    if editing(turn) and member is not None and member.phone:
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


async def on_phone_action(turn: Turn, action: Action) -> None:
    if action.name != "skip":
        raise StaleButton()
    await _set_phone(turn, None)


async def _set_phone(turn: Turn, phone: str | None, *, shared: bool = False) -> None:
    try:
        member = await members.set_phone(turn.session, turn.user_id, phone, now=turn.now, shared=shared)
    except members.InvalidPhone:
        turn.say("profile.phone.invalid")
        return
    except members.ConsentRequired:
        await begin(turn, then=answers(turn).then)
        return
    # the share-contact keyboard goes away: the menu when editing, nothing during onboarding
    markup = main_menu(turn) if editing(turn) else ReplyKeyboardRemove()
    if member.phone:
        turn.say("profile.phone.saved", phone=members.format_phone(member.phone), markup=markup)
    else:
        turn.say("profile.phone.skipped", markup=markup)
    if editing(turn):
        await show_edited(turn, member, saved=False)
    else:
        await turn.go(S.NEWSLETTER)


# ---- 7. newsletter ---------------------------------------------------------------------------
async def ask_newsletter(turn: Turn) -> None:
    rows: ButtonRows = [[(turn.t("profile.newsletter.yes"), "yes"), (turn.t("profile.newsletter.no"), "no")]]
    turn.say("profile.newsletter.ask", markup=keyboard(turn, rows))


async def on_newsletter(turn: Turn, action: Action) -> None:
    if action.name not in ("yes", "no"):
        raise StaleButton()
    member = await save(turn, members.set_newsletter(turn.session, turn.user_id, action.name == "yes", now=turn.now))
    if member is not None:
        await go_on(turn, member, None)


STEPS: dict[S, Step] = {
    S.CONSENT: Step(prompt=localized(ask_consent), on_action=localized(on_consent)),
    S.EMAIL: Step(prompt=localized(ask_email), on_text=localized(on_email), expects="text"),
    S.EMAIL_CODE: Step(
        prompt=localized(ask_code), on_text=localized(on_code), on_action=localized(on_code_action), expects="text"
    ),
    S.FIRST_NAME: Step(
        prompt=localized(_ask_name("first_name")), on_text=localized(_on_name("first_name")), expects="text"
    ),
    S.LAST_NAME: Step(
        prompt=localized(_ask_name("last_name")), on_text=localized(_on_name("last_name")), expects="text"
    ),
    S.COUNTRY: Step(
        prompt=localized(ask_country),
        on_text=localized(on_country_text),
        on_action=localized(on_country_action),
        expects="text",
    ),
    S.PHONE: Step(
        prompt=localized(ask_phone),
        on_text=localized(on_phone_text),
        on_contact=localized(on_phone_contact),
        on_action=localized(on_phone_action),
        expects="text",
    ),
    S.NEWSLETTER: Step(prompt=localized(ask_newsletter), on_action=localized(on_newsletter)),
}
