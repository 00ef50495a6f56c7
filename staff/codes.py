"""`/codes`: activation codes left per promotion (staff); `/codes import SLUG` with a CSV (admins).

How to import from the chat (also in `/codes help`): send the CSV as a *document* whose caption
is `/codes import SLUG`, or answer (reply to) a message that holds the CSV document with
`/codes import SLUG`. Either works in the staff group and in a private chat with the bot. The
rules for the file are `storage.code_stock`'s; the operator's `python -m bot codes import` is the
same import.
"""

from __future__ import annotations

from telegram import Document, Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from locales.i18n import Translator
from bot.language import language_of
from bot.replies import send_html
from staff.access import staff_only
from storage import code_stock
from storage.db import unit_of_work

MAX_FILE_BYTES = 5 * 1024 * 1024  # about 300,000 codes; Telegram lets bots download up to 20 MB
SHOWN_INVALID = 10
CAPTION = filters.CaptionRegex(r"^/codes(@\w+)?(\s|$)")


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    return [
        CommandHandler("codes", codes_command),  # type: ignore[arg-type]
        MessageHandler(filters.Document.ALL & CAPTION, codes_command),  # type: ignore[arg-type]
    ]


def _words(message: Message) -> list[str]:
    """The words after the command, from the text or, for a document, from its caption."""
    return (message.text or message.caption or "").split()[1:]


async def _say(update: Update, context: BotContext, text: str) -> None:
    assert update.effective_chat is not None
    await send_html(context, update.effective_chat.id, text)  # paced, retried (bot/replies.py)


@staff_only("codes")
async def codes_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    words = _words(message)
    action = words[0].lower() if words else ""
    if action == "import":
        await import_command(update, context)
        return
    services = context.services
    language = await language_of(services, update)
    t = services.translator.t
    if action == "help":
        await _say(update, context, t(language, "staff_tools.codes.help"))
        return
    async with unit_of_work(services.sessions) as session:
        stock = await code_stock.stock(session)
    threshold = services.settings.low_codes_warning
    lines = [t(language, "staff_tools.codes.stock_title")]
    for entry in stock:
        name = entry.promotion.names.get(language) or entry.promotion.names.get("en") or entry.promotion.slug
        key = "staff_tools.codes.stock_line_low" if entry.left < threshold else "staff_tools.codes.stock_line"
        lines.append(t(language, key, name=name, slug=entry.promotion.slug, left=entry.left, total=entry.total, threshold=threshold))
    if not stock:
        lines.append(t(language, "staff_tools.codes.stock_none"))
    lines.append("")
    lines.append(t(language, "staff_tools.codes.stock_footer"))
    await _say(update, context, "\n".join(lines))


def _document(message: Message) -> Document | None:
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


@staff_only("codes import", admin=True)
async def import_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    services = context.services
    language = await language_of(services, update)
    t = services.translator.t
    words = _words(message)[1:]
    if not words:
        async with unit_of_work(services.sessions) as session:
            known = await code_stock.slugs(session)
        await _say(update, context, t(language, "staff_tools.codes.no_slug", slugs=", ".join(known) or "—"))
        return
    slug = words[0].lower()
    document = _document(message)
    if document is None:
        await _say(update, context, t(language, "staff_tools.codes.no_file", slug=slug))
        return
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        await _say(update, context, t(language, "staff_tools.codes.too_big", size=-(-document.file_size // 1024), limit=MAX_FILE_BYTES // 1024))
        return
    try:
        data = bytes(await (await document.get_file()).download_as_bytearray())
    except TelegramError:
        await _say(update, context, t(language, "staff_tools.codes.download_failed"))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        await _say(update, context, t(language, "staff_tools.codes.not_text"))
        return
    try:
        async with unit_of_work(services.sessions) as session:
            imported = await code_stock.import_for_slug(session, slug, text, user.id, services.clock.now(), source="chat")
    except code_stock.UnknownPromotion as unknown:
        await _say(update, context, t(language, "staff_tools.codes.unknown_promotion", slug=slug, slugs=", ".join(unknown.known) or "—"))
        return
    await _say(update, context, render_report(services.translator, language, imported, services.settings.low_codes_warning))


def render_report(translator: Translator, language: str, imported: code_stock.Imported, threshold: int) -> str:
    """The import's summary, the first invalid lines, and a low-stock warning."""
    t = translator.t
    promotion, report = imported.promotion, imported.report
    name = promotion.names.get(language) or promotion.names.get("en") or promotion.slug
    lines = [t(language, "staff_tools.codes.imported", name=name, slug=promotion.slug, added=report.added, duplicates=report.duplicates, invalid=len(report.invalid), left=imported.left)]
    if report.invalid:
        lines += ["", t(language, "staff_tools.codes.invalid_title")]
        lines += [t(language, "staff_tools.codes.invalid_line", line=line, value=value[:60]) for line, value in report.invalid[:SHOWN_INVALID]]
        if len(report.invalid) > SHOWN_INVALID:
            lines.append(t(language, "staff_tools.codes.invalid_more", more=len(report.invalid) - SHOWN_INVALID))
    if imported.left < threshold:
        lines += ["", t(language, "staff_tools.codes.low", threshold=threshold)]
    return "\n".join(lines)
