"""Rejection reasons: the guide's built-in ones and canned ones staff add per language.

    /reasons                                            list them, with their codes
    /reasons add CODE [final] en: text | zh-Hant: text  add one (fixable unless "final")
    /reasons remove CODE                                remove a canned one

A built-in reason is the locale key `reasons.<code>` (its button label `reasons.label.<code>`);
a canned one keeps its text per language in the database. Either reaches the customer in the
customer's language (a canned one falls back to English, then to any language it has).
"""

from __future__ import annotations

from locales import available_languages
from staff.router import Command
from staff.text import fit, language, shorten, tr
from staff.turn import StaffTurn
from storage import reasons

FINAL_WORDS = ("final",)
FIXABLE_WORDS = ("fixable",)


def parse_texts(text: str) -> dict[str, str] | str:
    """ "en: text | zh-Hant: text" → {language: text}; or the part that names no known language."""
    known = {lang.lower(): lang for lang in available_languages()}
    texts: dict[str, str] = {}
    for part in text.split("|"):
        if not part.strip():
            continue
        lang, colon, value = part.partition(":")
        if not colon or lang.strip().lower() not in known:
            return part.strip()
        texts[known[lang.strip().lower()]] = value.strip()
    return texts


async def _list(turn: StaffTurn) -> None:
    services = turn.services
    lines = [tr(services, "staff.reasons.title")]
    for option in await reasons.reason_options(turn.session):
        kind = tr(services, "staff.reasons.fixable" if option.fixable else "staff.reasons.final")
        if option.builtin:
            text = tr(services, f"reasons.{option.code}")
            lines.append(tr(services, "staff.reasons.builtin_line", code=option.code, kind=kind, text=text))
        else:
            texts = " | ".join(f"{lang}: {shorten(text, 120)}" for lang, text in sorted(option.texts.items()))
            lines.append(tr(services, "staff.reasons.canned_line", code=option.code, kind=kind, texts=texts))
    lines.append(tr(services, "staff.reasons.help"))
    turn.say_text(fit(lines))


def _usage(turn: StaffTurn) -> None:
    turn.say("staff.reasons.usage", languages=", ".join(available_languages()))


async def _add(turn: StaffTurn, rest: str) -> None:
    services = turn.services
    code, _, remainder = rest.partition(" ")
    fixable = True
    first, _, after = remainder.strip().partition(" ")
    if first.lower() in FINAL_WORDS + FIXABLE_WORDS:
        fixable, remainder = first.lower() in FIXABLE_WORDS, after
    texts = parse_texts(remainder)
    if isinstance(texts, str) or not code:
        _usage(turn)
        return
    try:
        async with turn.session.begin_nested():
            option = await reasons.add_reason(turn.session, code, texts, fixable, turn.user_id, turn.now)
    except reasons.ReasonRefused as refused:
        turn.say(f"staff.reasons.refused.{refused.error.value}", code=code, limit=reasons.MAX_REASON_TEXT)
        return
    missing = [lang for lang in available_languages() if lang not in option.texts]
    kind = tr(services, "staff.reasons.fixable" if fixable else "staff.reasons.final")
    text = tr(
        services,
        "staff.reasons.added",
        code=option.code,
        kind=kind,
        text=reasons.canned_text(option.texts, language(services)),
    )
    if missing:
        text += "\n" + tr(services, "staff.reasons.missing_languages", languages=", ".join(missing))
    turn.say_text(text)


async def _remove(turn: StaffTurn, code: str) -> None:
    try:
        async with turn.session.begin_nested():
            await reasons.remove_reason(turn.session, code, turn.user_id, turn.now)
    except reasons.ReasonRefused as refused:
        turn.say(f"staff.reasons.refused.{refused.error.value}", code=code, limit=reasons.MAX_REASON_TEXT)
        return
    turn.say("staff.reasons.removed", code=code.strip().lower())


async def reasons_command(turn: StaffTurn) -> None:
    parts = turn.command_text.split(maxsplit=2)
    sub = parts[1].lower() if len(parts) > 1 else ""
    rest = parts[2].strip() if len(parts) > 2 else ""
    if sub == "add":
        await _add(turn, rest)
    elif sub == "remove" and rest:
        await _remove(turn, rest.split()[0])
    elif not sub:
        await _list(turn)
    else:
        _usage(turn)


COMMANDS = [Command("reasons", reasons_command)]
