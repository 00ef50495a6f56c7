"""`/draw` (admins): the lucky draw, committed first and drawn later (see `storage.draw`).

    /draw                       what is committed and waiting, and how to use /draw
    /draw help                  how the draw works and who takes part
    /draw SLUG N [RESERVES]     commit: the seed's hash and the entrant count go to the staff chat
    /draw SLUG confirm          draw: winners and reserves, the seed revealed, entrants told
    /draw SLUG cancel           withdraw a commitment that was not drawn

The staff chat hears each step through the outbox, committed with the step. When the command
was given elsewhere (a private chat with the bot), the admin also gets the same text at once.

`run_draw_deadlines` is the runtime's timed job: winners who did not claim their prize in time
are replaced by reserves (`storage.draw.replace_lapsed`); the outbox tells everyone.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.services import Services
from bot.language import language_of
from bot.replies import send_html
from staff.access import staff_only
from storage import draw as lucky
from storage.db import unit_of_work

CONFIRM = {"confirm", "draw", "run"}
CANCEL = {"cancel", "withdraw"}


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    return [CommandHandler("draw", draw_command)]  # type: ignore[arg-type]


async def _say(update: Update, context: BotContext, text: str) -> None:
    assert update.effective_chat is not None
    await send_html(context, update.effective_chat.id, text)  # paced, retried (bot/replies.py)


@staff_only("draw", admin=True)
async def draw_command(update: Update, context: BotContext) -> None:
    services = context.services
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    language = await language_of(services, update)
    t = services.translator.t
    words = list(context.args or [])
    if not words or words[0].lower() == "help":
        await _say(update, context, t(language, "staff_tools.draw.help") if words else await _overview(context, language))
        return
    slug, action = words[0].lower(), (words[1].lower() if len(words) > 1 else "")
    staff_chat_id = services.settings.staff_chat_id
    staff_language = services.translator.default_language
    now = services.clock.now()
    try:
        async with unit_of_work(services.sessions) as session:
            if action in CONFIRM:
                outcome = await lucky.draw(session, slug, user.id, now, staff_chat_id=staff_chat_id, staff_language=staff_language)
            elif action in CANCEL:
                outcome = await lucky.cancel(session, slug, user.id, now, staff_chat_id=staff_chat_id, staff_language=staff_language)
            elif action.isdecimal() and len(words) <= 3 and words[-1].isdecimal():
                reserves = int(words[2]) if len(words) == 3 else 0
                outcome = await lucky.commit(session, slug, int(action), reserves, user.id, now, staff_chat_id=staff_chat_id, staff_language=staff_language)
            else:
                await _say(update, context, t(language, "staff_tools.draw.usage"))
                return
    except lucky.DrawRefused as refused:
        await _say(update, context, _refusal(context, language, slug, refused))
        return
    if staff_chat_id is None or chat.id != staff_chat_id:  # in the staff chat, the outbox's message is the answer
        key, values = outcome.announcement
        await _say(update, context, t(language, key, **values))


def _refusal(context: BotContext, language: str, slug: str, refused: lucky.DrawRefused) -> str:
    t = context.services.translator.t
    key = f"staff_tools.draw.{refused.error.value}"
    row = refused.draw
    values: dict[str, object] = {"slug": slug, "max_winners": lucky.MAX_WINNERS, "max_reserves": lucky.MAX_RESERVES}
    if row is not None:
        values |= {"winners": row.winners_wanted, "reserves": row.reserves_wanted, "seed_sha256": row.seed_sha256}
    return t(language, key, **values)


async def _overview(context: BotContext, language: str) -> str:
    services = context.services
    t = services.translator.t
    async with unit_of_work(services.sessions) as session:
        waiting = await lucky.open_commitments(session)
    lines = [t(language, "staff_tools.draw.usage"), ""]
    if waiting:
        lines.append(t(language, "staff_tools.draw.open_title"))
        for row, promotion in waiting:
            date = row.committed_at.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(t(language, "staff_tools.draw.open_line", slug=promotion.slug, winners=row.winners_wanted, reserves=row.reserves_wanted, date=date, seed_sha256=row.seed_sha256))
    else:
        lines.append(t(language, "staff_tools.draw.open_none"))
    return "\n".join(lines)


async def run_draw_deadlines(services: Services) -> int:
    """Replaces the winners whose time to answer ran out; returns how many were replaced."""
    async with unit_of_work(services.sessions) as session:
        done = await lucky.replace_lapsed(
            session, services.clock.now(), staff_chat_id=services.settings.staff_chat_id, staff_language=services.translator.default_language
        )
    return len(done)
