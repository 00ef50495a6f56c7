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

from bot.outbox import render_text
from bot.services import Services
from staff.router import Command
from staff.turn import StaffTurn
from storage import draw as lucky
from storage.db import unit_of_work

CONFIRM = {"confirm", "draw", "run"}
CANCEL = {"cancel", "withdraw"}


async def draw_command(turn: StaffTurn) -> None:
    """Admins: commit, draw or withdraw; the staff chat hears each step through the outbox."""
    words = turn.args
    if not words or words[0].lower() == "help":
        turn.say_text(turn.t("staff_tools.draw.help") if words else await _overview(turn))
        return
    slug, action = words[0].lower(), (words[1].lower() if len(words) > 1 else "")
    staff_chat_id, staff_language, now = turn.staff_chat_id, turn.language, turn.now
    session, admin = turn.session, turn.user_id
    try:
        async with session.begin_nested():
            if action in CONFIRM:
                outcome = await lucky.draw(
                    session, slug, admin, now, staff_chat_id=staff_chat_id, staff_language=staff_language
                )
            elif action in CANCEL:
                outcome = await lucky.cancel(
                    session, slug, admin, now, staff_chat_id=staff_chat_id, staff_language=staff_language
                )
            elif action.isdecimal() and len(words) <= 3 and words[-1].isdecimal():
                reserves = int(words[2]) if len(words) == 3 else 0
                outcome = await lucky.commit(
                    session,
                    slug,
                    int(action),
                    reserves,
                    admin,
                    now,
                    staff_chat_id=staff_chat_id,
                    staff_language=staff_language,
                )
            else:
                turn.say("staff_tools.draw.usage")
                return
    except lucky.DrawRefused as refused:
        turn.say_text(_refusal(turn, slug, refused))
        return
    if staff_chat_id is None or turn.chat_id != staff_chat_id:  # in the staff chat, the outbox's message is the answer
        key, values = outcome.announcement
        turn.say_text(render_text(turn.services.translator, turn.language, key, values))


def _refusal(turn: StaffTurn, slug: str, refused: lucky.DrawRefused) -> str:
    row = refused.draw
    values: dict[str, object] = {"slug": slug, "max_winners": lucky.MAX_WINNERS, "max_reserves": lucky.MAX_RESERVES}
    if row is not None:
        values |= {"winners": row.winners_wanted, "reserves": row.reserves_wanted, "seed_sha256": row.seed_sha256}
    return turn.t(f"staff_tools.draw.{refused.error.value}", **values)


async def _overview(turn: StaffTurn) -> str:
    waiting = await lucky.open_commitments(turn.session)
    lines = [turn.t("staff_tools.draw.usage"), ""]
    if waiting:
        lines.append(turn.t("staff_tools.draw.open_title"))
        for row, promotion in waiting:
            date = row.committed_at.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(
                turn.t(
                    "staff_tools.draw.open_line",
                    slug=promotion.slug,
                    winners=row.winners_wanted,
                    reserves=row.reserves_wanted,
                    date=date,
                    seed_sha256=row.seed_sha256,
                )
            )
    else:
        lines.append(turn.t("staff_tools.draw.open_none"))
    return "\n".join(lines)


async def run_draw_deadlines(services: Services) -> int:
    """Replaces the winners whose time to answer ran out; returns how many were replaced."""
    async with unit_of_work(services.sessions) as session:
        done = await lucky.replace_lapsed(
            session,
            services.clock.now(),
            staff_chat_id=services.settings.staff_chat_id,
            staff_language=services.translator.default_language,
        )
    return len(done)


COMMANDS = [Command("draw", draw_command, admin=True)]
