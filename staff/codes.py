"""`/codes`: activation codes left per promotion (staff); `/codes import SLUG` with a CSV (admins).

How to import from the chat (also in `/codes help`): send the CSV as a *document* whose caption
is `/codes import SLUG`, or answer (reply to) a message that holds the CSV document with
`/codes import SLUG`. Either works in the staff group and in a private chat with the bot. The
rules for the file are `storage.code_stock`'s; the operator's `python -m bot codes import` is the
same import. The file is downloaded before the update's unit of work opens (`fetch_codes_file`,
for admins only), so a slow download never holds the database.
"""

from __future__ import annotations

from telegram import Document, Message, Update
from telegram.error import TelegramError

from bot.context import BotContext
from locales.i18n import Translator
from staff.router import Command
from staff.turn import FetchedFile, StaffTurn
from storage import code_stock
from storage.texts import promotion_name

MAX_FILE_BYTES = 5 * 1024 * 1024  # about 300,000 codes; Telegram lets bots download up to 20 MB
SHOWN_INVALID = 10


def _words(message: Message) -> list[str]:
    """The words after the command, from the text or, for a document, from its caption."""
    return (message.text or message.caption or "").split()[1:]


def _document(message: Message) -> Document | None:
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


async def fetch_codes_file(update: Update, context: BotContext) -> FetchedFile | None:
    """`/codes import SLUG` with a file: downloads it (before the unit of work), or says why not."""
    message = update.effective_message
    if message is None:
        return None
    words = _words(message)
    document = _document(message)
    if len(words) < 2 or words[0].lower() != "import" or document is None:
        return None
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        values = (("size", -(-document.file_size // 1024)), ("limit", MAX_FILE_BYTES // 1024))
        return FetchedFile(None, "too_big", values)
    try:
        return FetchedFile(bytes(await (await document.get_file()).download_as_bytearray()))
    except TelegramError:
        return FetchedFile(None, "download_failed")


async def codes_command(turn: StaffTurn) -> None:
    """Staff: codes left per promotion; `/codes help`; `/codes import SLUG` for admins."""
    words = turn.args
    action = words[0].lower() if words else ""
    if action == "import":
        if not turn.is_admin:
            await turn.refuse("codes import")
            return
        await _import(turn, words[1:])
        return
    if action == "help":
        turn.say("staff_tools.codes.help")
        return
    language = turn.language
    threshold = turn.services.settings.low_codes_warning
    lines = [turn.t("staff_tools.codes.stock_title")]
    for entry in await code_stock.stock(turn.session):
        name = promotion_name(entry.promotion, language)
        key = "staff_tools.codes.stock_line_low" if entry.left < threshold else "staff_tools.codes.stock_line"
        lines.append(
            turn.t(key, name=name, slug=entry.promotion.slug, left=entry.left, total=entry.total, threshold=threshold)
        )
    if len(lines) == 1:
        lines.append(turn.t("staff_tools.codes.stock_none"))
    lines.append("")
    lines.append(turn.t("staff_tools.codes.stock_footer"))
    turn.say_text("\n".join(lines))


async def _import(turn: StaffTurn, words: list[str]) -> None:
    """The import itself: the file was fetched before the unit of work opened."""
    if not words:
        known = await code_stock.slugs(turn.session)
        turn.say("staff_tools.codes.no_slug", slugs=", ".join(known) or "—")
        return
    slug = words[0].lower()
    message = turn.update.effective_message
    if message is None or _document(message) is None:
        turn.say("staff_tools.codes.no_file", slug=slug)
        return
    fetched = turn.fetched or FetchedFile(None, "download_failed")
    if fetched.data is None:
        turn.say_text(turn.t(f"staff_tools.codes.{fetched.problem or 'download_failed'}", **dict(fetched.values)))
        return
    try:
        text = fetched.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        turn.say("staff_tools.codes.not_text")
        return
    try:
        async with turn.session.begin_nested():
            imported = await code_stock.import_for_slug(turn.session, slug, text, turn.user_id, turn.now, source="chat")
    except code_stock.UnknownPromotion as unknown:
        turn.say("staff_tools.codes.unknown_promotion", slug=slug, slugs=", ".join(unknown.known) or "—")
        return
    turn.say_text(
        render_report(turn.services.translator, turn.language, imported, turn.services.settings.low_codes_warning)
    )


def render_report(translator: Translator, language: str, imported: code_stock.Imported, threshold: int) -> str:
    """The import's summary, the first invalid lines, and a low-stock warning."""
    t = translator.t
    promotion, report = imported.promotion, imported.report
    name = promotion_name(promotion, language)
    lines = [
        t(
            language,
            "staff_tools.codes.imported",
            name=name,
            slug=promotion.slug,
            added=report.added,
            duplicates=report.duplicates,
            invalid=len(report.invalid),
            left=imported.left,
        )
    ]
    if report.invalid:
        lines += ["", t(language, "staff_tools.codes.invalid_title")]
        lines += [
            t(language, "staff_tools.codes.invalid_line", line=line, value=value[:60])
            for line, value in report.invalid[:SHOWN_INVALID]
        ]
        if len(report.invalid) > SHOWN_INVALID:
            lines.append(t(language, "staff_tools.codes.invalid_more", more=len(report.invalid) - SHOWN_INVALID))
    if imported.left < threshold:
        lines += ["", t(language, "staff_tools.codes.low", threshold=threshold)]
    return "\n".join(lines)


COMMANDS = [Command("codes", codes_command, in_caption=True, prefetch=fetch_codes_file)]
