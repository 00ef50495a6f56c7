"""Rejection reasons: the guide's built-in ones and canned ones staff add per language.

    /reasons                                            list them, with their codes
    /reasons add CODE [final] en: text | zh-Hant: text  add one (fixable unless "final")
    /reasons remove CODE                                remove a canned one

A built-in reason is the locale key `reasons.<code>` (its button label `reasons.label.<code>`);
a canned one keeps its text per language in the database. Either reaches the customer in the
customer's language (a canned one falls back to English, then to any language it has).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from staff.access import staff_only
from staff.review import fit, language, reply, shorten, tr
from locales import available_languages
from storage import review
from storage.db import unit_of_work

FINAL_WORDS = ("final",)
FIXABLE_WORDS = ("fixable",)


def parse_texts(text: str) -> dict[str, str] | str:
    """"en: text | zh-Hant: text" → {language: text}; or the part that names no known language."""
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


async def _list(update: Update, context: BotContext) -> None:
    services = context.services
    async with unit_of_work(services.sessions) as session:
        options = await review.reason_options(session)
    lines = [tr(services, "staff.reasons.title")]
    for option in options:
        kind = tr(services, "staff.reasons.fixable" if option.fixable else "staff.reasons.final")
        if option.builtin:
            lines.append(tr(services, "staff.reasons.builtin_line", code=option.code, kind=kind, text=tr(services, f"reasons.{option.code}")))
        else:
            texts = " | ".join(f"{lang}: {shorten(text, 120)}" for lang, text in sorted(option.texts.items()))
            lines.append(tr(services, "staff.reasons.canned_line", code=option.code, kind=kind, texts=texts))
    lines.append(tr(services, "staff.reasons.help"))
    await reply(update, context, fit(lines))


async def _add(update: Update, context: BotContext, rest: str) -> None:
    services, user = context.services, update.effective_user
    assert user is not None
    code, _, remainder = rest.partition(" ")
    fixable = True
    first, _, after = remainder.strip().partition(" ")
    if first.lower() in FINAL_WORDS + FIXABLE_WORDS:
        fixable, remainder = first.lower() in FIXABLE_WORDS, after
    texts = parse_texts(remainder)
    if isinstance(texts, str) or not code:
        await reply(update, context, tr(services, "staff.reasons.usage", languages=", ".join(available_languages())))
        return
    try:
        async with unit_of_work(services.sessions) as session:
            option = await review.add_reason(session, code, texts, fixable, user.id, services.clock.now())
    except review.ReasonRefused as refused:
        await reply(update, context, tr(services, f"staff.reasons.refused.{refused.error.value}", code=code, limit=review.MAX_REASON_TEXT))
        return
    missing = [lang for lang in available_languages() if lang not in option.texts]
    text = tr(services, "staff.reasons.added", code=option.code, kind=tr(services, "staff.reasons.fixable" if fixable else "staff.reasons.final"), text=review.canned_text(option.texts, language(services)))
    if missing:
        text += "\n" + tr(services, "staff.reasons.missing_languages", languages=", ".join(missing))
    await reply(update, context, text)


async def _remove(update: Update, context: BotContext, code: str) -> None:
    services, user = context.services, update.effective_user
    assert user is not None
    try:
        async with unit_of_work(services.sessions) as session:
            await review.remove_reason(session, code, user.id, services.clock.now())
    except review.ReasonRefused as refused:
        await reply(update, context, tr(services, f"staff.reasons.refused.{refused.error.value}", code=code, limit=review.MAX_REASON_TEXT))
        return
    await reply(update, context, tr(services, "staff.reasons.removed", code=code.strip().lower()))


@staff_only("reasons")
async def reasons_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=2) if message is not None else []
    sub = parts[1].lower() if len(parts) > 1 else ""
    rest = parts[2].strip() if len(parts) > 2 else ""
    if sub == "add":
        await _add(update, context, rest)
    elif sub == "remove" and rest:
        await _remove(update, context, rest.split()[0])
    elif not sub:
        await _list(update, context)
    else:
        await reply(update, context, tr(context.services, "staff.reasons.usage", languages=", ".join(available_languages())))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    return [CommandHandler("reasons", reasons_command)]  # type: ignore[arg-type]
