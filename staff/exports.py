"""`/export claims|payouts|shipments|subscribers [SLUG] [csv|xlsx]` (admins): a file from the chat.

The same rows and bytes as `python -m bot export …` (storage/exports.py). The command itself only
checks its words and writes the audit entry; its answer is a progress message, and once that is
out (after the commit) the export runs in its own read-only transaction: the rows are read in
batches with the progress message edited as they come, the file is built in a thread (XLSX is CPU
work), sent as a document, and the progress message says it is done. `/payouts export` and
`/shipments export` (staff/fulfilment.py) remain, as CSV shortcuts of the same files.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.context import BotContext
from bot.replies import sender
from staff.router import Command
from staff.turn import StaffTurn
from storage import audit, code_stock, export, exports
from storage.db import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    kind: str
    slug: str | None
    file_format: str


def parse(words: list[str]) -> Request | None:
    """`claims`, `payouts spring-2026 xlsx`, `subscribers csv`…; None when the kind is missing or unknown."""
    lowered = [word.lower() for word in words]
    if not lowered or lowered[0] not in exports.KINDS:
        return None
    rest = lowered[1:]
    file_format = "csv"
    if rest and rest[-1] in exports.FORMATS:
        file_format = rest.pop()
    if len(rest) > 1:
        return None
    return Request(lowered[0], rest[0] if rest else None, file_format)


async def export_command(turn: StaffTurn) -> None:
    request = parse(turn.args)
    if request is None:
        turn.say("controls.export.help")
        return
    if request.kind in exports.NEEDS_PROMOTION and request.slug is None:
        turn.say("controls.export.needs_promotion", what=request.kind)
        return
    if request.slug is not None:
        try:
            await export.promotion_id(turn.session, request.slug)
        except LookupError:
            known = await code_stock.slugs(turn.session)
            turn.say("controls.unknown_promotion", slug=request.slug, slugs=", ".join(known) or "—")
            return
    await audit.record(
        turn.session,
        now=turn.now,
        actor_user_id=turn.user_id,
        action="export.requested",
        subject=request.kind,
        details={"promotion": request.slug, "format": request.file_format},
    )
    job = ExportJob(turn.context, turn.chat_id, request, turn.now.date().isoformat(), turn)
    turn.say_text(turn.t("controls.export.started", what=request.kind, format=request.file_format), on_sent=job.run)


@dataclass
class ExportJob:
    """One export after its progress message was sent: read, report progress, build, send."""

    context: BotContext
    chat_id: int
    request: Request
    day: str
    turn: StaffTurn

    async def _edit(self, message_id: int, text: str) -> None:
        bot = self.context.bot
        try:
            await sender(self.context).send(
                self.chat_id,
                bot.edit_message_text,
                text,
                chat_id=self.chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
            )
        except TelegramError as exc:  # "not modified" or a message gone: the export goes on
            log.info("progress edit of %s refused: %s", message_id, exc)

    async def run(self, message_id: int) -> None:
        request, t = self.request, self.turn.t

        async def progress(rows: int) -> None:
            await self._edit(message_id, t("controls.export.progress", what=request.kind, rows=rows))

        try:
            async with unit_of_work(self.context.services.sessions) as session:
                table = await exports.read(session, request.kind, request.slug, progress)
        except ValueError:
            await self._edit(message_id, t("controls.export.not_cashback", slug=request.slug or ""))
            return
        await self._edit(message_id, t("controls.export.building", rows=len(table.rows), format=request.file_format))
        data = await asyncio.to_thread(exports.render, table, request.file_format)
        name = exports.file_name(request.kind, request.slug, self.day, request.file_format)
        caption = t("controls.export.caption", what=request.kind, rows=len(table.rows))
        bot = self.context.bot
        sent = await sender(self.context).send(
            self.chat_id,
            bot.send_document,
            self.chat_id,
            data,
            filename=name,
            caption=caption,
            parse_mode=ParseMode.HTML,
        )
        done = "controls.export.done" if sent is not None else "controls.export.not_sent"
        await self._edit(message_id, t(done, what=request.kind, rows=len(table.rows), file=name))


COMMANDS = [Command("export", export_command, admin=True)]
