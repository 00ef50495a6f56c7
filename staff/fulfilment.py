"""`/payouts` and `/shipments` (admins): the payout and shipment files, from the staff chat.

    /payouts export SLUG        the payout file of a cashback promotion, sent back as a CSV document
    /shipments export SLUG      the parcels to send, as a CSV document
    /payouts import             as the caption of a CSV document (or replying to one): payments back
    /shipments import           likewise: carriers and tracking numbers back

`/export payouts|shipments SLUG [csv|xlsx]` (staff/exports.py) sends the same files with progress;
the exports here are its CSV short forms. The same files as `python -m bot export|import
payouts|shipments` (storage/payouts.py and storage/shipments.py say every column). A CSV is
downloaded before the unit of work opens, for admins only, as `/codes import` does (staff/codes.py).
"""

from __future__ import annotations

import io

from telegram import Document, Message, Update
from telegram.error import TelegramError

from bot.context import BotContext
from staff.router import Command
from staff.turn import FetchedFile, StaffTurn
from storage import batches, code_stock, payouts, shipments

MAX_FILE_BYTES = 5 * 1024 * 1024
SHOWN_ERRORS = 15


def _document_of(message: Message) -> Document | None:
    replied = message.reply_to_message
    return message.document or (replied.document if replied is not None else None)


async def fetch_batch_file(update: Update, context: BotContext) -> FetchedFile | None:
    """`/payouts import` or `/shipments import` with a CSV: downloads it before the unit of work."""
    message = update.effective_message
    if message is None:
        return None
    words = (message.text or message.caption or "").split()[1:]
    if not words or words[0].lower() != "import":
        return None
    return await fetch_file(update)


async def fetch_file(update: Update) -> FetchedFile | None:
    """The document of the message (or of the one it replies to), at most MAX_FILE_BYTES; None without one.
    A problem is `too_big` (with size and limit in KB) or `download_failed`."""
    message = update.effective_message
    document = _document_of(message) if message is not None else None
    if document is None:
        return None
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        values = (("size", -(-document.file_size // 1024)), ("limit", MAX_FILE_BYTES // 1024))
        return FetchedFile(None, "too_big", values)
    try:
        return FetchedFile(bytes(await (await document.get_file()).download_as_bytearray()))
    except TelegramError:
        return FetchedFile(None, "download_failed")


async def _export(turn: StaffTurn, what: str, words: list[str]) -> None:
    if not words:
        known = await code_stock.slugs(turn.session)
        turn.say("fulfilment.staff.unknown_promotion", slug="—", slugs=", ".join(known) or "—")
        return
    slug = words[0].lower()
    module = payouts if what == "payouts" else shipments
    out = io.StringIO()
    try:
        count = await module.write_csv(turn.session, out, slug)
    except LookupError:
        known = await code_stock.slugs(turn.session)
        turn.say("fulfilment.staff.unknown_promotion", slug=slug, slugs=", ".join(known) or "—")
        return
    except ValueError:
        turn.say("fulfilment.staff.not_cashback", slug=slug)
        return
    day = turn.now.date().isoformat()
    turn.send_document(
        out.getvalue().encode("utf-8"),
        f"{what}-{slug}-{day}.csv",
        "fulfilment.staff.exported",
        what=turn.t(f"fulfilment.staff.what_{what}"),
        slug=slug,
        count=count,
    )


async def _import(turn: StaffTurn, what: str) -> None:
    message = turn.update.effective_message
    if message is None or _document_of(message) is None:
        turn.say("fulfilment.staff.no_file")
        return
    fetched = turn.fetched or FetchedFile(None, "download_failed")
    if fetched.data is None:
        turn.say_text(turn.t(f"fulfilment.staff.{fetched.problem or 'download_failed'}", **dict(fetched.values)))
        return
    try:
        text = fetched.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        turn.say("fulfilment.staff.not_text")
        return
    module = payouts if what == "payouts" else shipments
    try:
        async with turn.session.begin_nested():
            report = await module.import_csv(turn.session, text, turn.now, turn.user_id)
    except batches.FileProblem as problem:
        turn.say("fulfilment.staff.bad_file", problem=str(problem))
        return
    lines = [
        turn.t(
            "fulfilment.staff.imported",
            what=turn.t(f"fulfilment.staff.what_{what}"),
            applied=len(report.applied),
            unchanged=report.unchanged,
            refused=len(report.errors),
        )
    ]
    for error in report.errors[:SHOWN_ERRORS]:
        lines.append(
            turn.t("fulfilment.staff.error_line", line=error.line, column=error.column, message=error.message[:200])
        )
    if len(report.errors) > SHOWN_ERRORS:
        lines.append(turn.t("fulfilment.staff.errors_more", more=len(report.errors) - SHOWN_ERRORS))
    turn.say_text("\n".join(lines))


def _command(what: str) -> Command:
    async def handler(turn: StaffTurn) -> None:
        words = turn.args
        action = words[0].lower() if words else ""
        if action == "export":
            await _export(turn, what, words[1:])
        elif action == "import":
            await _import(turn, what)
        else:
            turn.say("fulfilment.staff.help")

    return Command(what, handler, admin=True, in_caption=True, prefetch=fetch_batch_file)


COMMANDS = [_command("payouts"), _command("shipments")]
