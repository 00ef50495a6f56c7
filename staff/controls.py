"""`/promotion` and `/catalogue load` (admins): a promotion's daily business from the staff chat.

    /promotion pause SLUG [YYYY-MM-DD]   no claims until that day (without one: until resumed)
    /promotion resume SLUG               claims again
    /promotion end SLUG                  no more claims, for good
    /promotion extend SLUG YYYY-MM-DD    a later redemption deadline
    /promotion load                      as the caption of a promotions TOML file (or replying to one)
    /catalogue load                      as the caption of a catalogue TOML or CSV file (or replying to one)

The rules are storage/promotion_controls.py's; customers see a pause or an end at once in
/promotions and /redeem. A file is downloaded before the unit of work (staff/fulfilment.py's
prefetch), validated whole by the operator's loaders (storage/promotion_loader.py,
storage/catalogue_loader.py), and written only when every row is valid: otherwise the answer
lists the problems, each naming the row and the field. Every act has its audit entry.
"""

from __future__ import annotations

import tempfile
import tomllib
from datetime import date
from pathlib import Path, PurePath

from telegram import Document, Message, Update

from bot.context import BotContext
from staff.fulfilment import fetch_file
from staff.router import Command
from staff.turn import FetchedFile, StaffTurn
from storage import code_stock, promotion_controls
from storage.catalogue_loader import load_catalogue_file
from storage.file_errors import FileLoadError, FileProblem
from storage.promotion_controls import ControlRefused, Refused
from storage.promotion_loader import load_promotions_file

SHOWN_PROBLEMS = 15
DONE = {"pause": "paused", "resume": "resumed", "end": "ended", "extend": "extended"}


def _document_of(message: Message | None) -> Document | None:
    if message is None:
        return None
    replied = message.reply_to_message
    return message.document or (replied.document if replied is not None else None)


async def fetch_control_file(update: Update, context: BotContext) -> FetchedFile | None:
    """`/promotion load` or `/catalogue load` with a document: downloaded before the unit of work."""
    message = update.effective_message
    words = (message.text or message.caption or "").split()[1:] if message is not None else []
    if not words or words[0].lower() != "load":
        return None
    return await fetch_file(update)


def _day(word: str) -> date | None:
    try:
        return date.fromisoformat(word)
    except ValueError:
        return None


async def _unknown(turn: StaffTurn, slug: str) -> None:
    known = await code_stock.slugs(turn.session)
    turn.say("controls.unknown_promotion", slug=slug, slugs=", ".join(known) or "—")


async def _act(turn: StaffTurn, action: str, words: list[str]) -> None:
    if not words:
        turn.say("controls.promotion.help")
        return
    slug = words[0].lower()
    day = _day(words[1]) if len(words) > 1 else None
    if len(words) > 1 and day is None:
        turn.say("controls.promotion.bad_day", word=words[1])
        return
    actor = turn.user_id
    try:
        if action == "pause":
            promotion = await promotion_controls.pause(turn.session, slug, day, now=turn.now, actor=actor)
        elif action == "resume":
            promotion = await promotion_controls.resume(turn.session, slug, now=turn.now, actor=actor)
        elif action == "end":
            promotion = await promotion_controls.end(turn.session, slug, now=turn.now, actor=actor)
        elif day is None:
            turn.say("controls.promotion.extend_needs_day")
            return
        else:
            promotion = await promotion_controls.extend(turn.session, slug, day, now=turn.now, actor=actor)
    except Refused as refused:
        if refused.why is ControlRefused.UNKNOWN_PROMOTION:
            await _unknown(turn, slug)
        else:
            turn.say(f"controls.promotion.{refused.why}", slug=slug)
        return
    if action == "pause" and promotion.paused_until is not None:
        turn.say("controls.promotion.paused_until", slug=slug, date=promotion.paused_until.isoformat())
        return
    deadline = promotion.redeem_deadline.isoformat() if promotion.redeem_deadline else ""
    turn.say(f"controls.promotion.{DONE[action]}", slug=slug, date=deadline)


def _problem_lines(turn: StaffTurn, problems: list[FileProblem]) -> list[str]:
    lines = [
        turn.t("controls.load.problem", where=p.where or "—", field=p.field or "—", message=p.message[:200])
        for p in problems[:SHOWN_PROBLEMS]
    ]
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(turn.t("controls.load.more", more=len(problems) - SHOWN_PROBLEMS))
    return lines


def _file(turn: StaffTurn) -> tuple[bytes, str] | None:
    """The downloaded document and its name, or None with the reason said."""
    document = _document_of(turn.update.effective_message)
    if document is None:
        turn.say("controls.load.no_file")
        return None
    fetched = turn.fetched or FetchedFile(None, "download_failed")
    if fetched.data is None:
        turn.say_text(turn.t(f"controls.load.{fetched.problem or 'download_failed'}", **dict(fetched.values)))
        return None
    return fetched.data, PurePath(document.file_name or "file").name


async def _load_promotions(turn: StaffTurn) -> None:
    found = _file(turn)
    if found is None:
        return
    data, name = found
    try:
        tables = tomllib.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        _refused(turn, name, FileLoadError(Path(name), [FileProblem(f"TOML syntax error: {exc}")]))
        return
    try:
        async with turn.session.begin_nested():
            slugs = await load_promotions_file(turn.session, Path(name), tables)
    except FileLoadError as error:
        _refused(turn, name, error)
        return
    await promotion_controls.record_file_loaded(
        turn.session, "promotions", name, {"slugs": slugs}, now=turn.now, actor=turn.user_id
    )
    turn.say("controls.load.promotions_loaded", file=name, count=len(slugs), slugs=", ".join(slugs))


def _refused(turn: StaffTurn, name: str, error: FileLoadError) -> None:
    lines = [turn.t("controls.load.refused", file=name, count=len(error.details))]
    turn.say_text("\n".join(lines + _problem_lines(turn, error.details)))


async def _load_catalogue(turn: StaffTurn) -> None:
    found = _file(turn)
    if found is None:
        return
    data, name = found
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            async with turn.session.begin_nested():
                report = await load_catalogue_file(turn.session, path)
        except FileLoadError as error:
            _refused(turn, name, error)
            return
    summary: dict[str, object] = {"products": report.products, "serials": report.serials, "stores": report.stores}
    summary |= {"created": report.created, "updated": report.updated}
    await promotion_controls.record_file_loaded(
        turn.session, "catalogue", name, summary, now=turn.now, actor=turn.user_id
    )
    turn.say_text(turn.t("controls.load.catalogue_loaded", file=name, **summary))


async def promotion_command(turn: StaffTurn) -> None:
    words = turn.args
    action = words[0].lower() if words else ""
    if action in ("pause", "resume", "end", "extend"):
        await _act(turn, action, words[1:])
    elif action == "load":
        await _load_promotions(turn)
    else:
        turn.say("controls.promotion.help")


async def catalogue_command(turn: StaffTurn) -> None:
    if turn.args and turn.args[0].lower() == "load":
        await _load_catalogue(turn)
    else:
        turn.say("controls.catalogue_help")


COMMANDS = [
    Command("promotion", promotion_command, admin=True, in_caption=True, prefetch=fetch_control_file),
    Command("catalogue", catalogue_command, admin=True, in_caption=True, prefetch=fetch_control_file),
]
