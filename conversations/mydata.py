"""The customer's own data: `/mydata` (a copy of everything) and `/deleteme` (erase it).

`/mydata` sends one JSON file with everything stored about the person (storage.privacy decides
what that is) and their photos as a zip, split into parts when it would pass Telegram's 50 MB
for a bot's document. It works mid-journey (it changes nothing but the audit log).

`/deleteme` is a one-step journey: the question says what goes and what stays, with the
buttons "Yes, delete everything" and "Cancel" tied to the step (pressed later, they are
refused). Yes erases through `privacy.erase_member` in this turn's transaction; the reply comes
after the commit, with the menu keyboard removed: the person is no longer a member, and /start
begins a new, empty profile.
"""

from __future__ import annotations

import asyncio
import enum

from telegram import ReplyKeyboardRemove

from conversations.flow import Flow, Step
from conversations.journey import Action, ButtonRows, StaleButton
from conversations.products import format_day
from conversations.replies import main_menu
from conversations.router import Router
from conversations.turn import Turn
from storage import privacy

FLOW = "deleteme"


class S(enum.StrEnum):
    CONFIRM = "confirm"


PART_LIMIT = privacy.ZIP_PART_LIMIT  # bytes per zip document (tests lower it to see the split)


# ---- /mydata ---------------------------------------------------------------------------------
async def mydata(turn: Turn) -> None:
    """Everything we hold about the person: a JSON file, then the photos as zip part(s)."""
    member = turn.member
    if member is None:
        turn.say("mydata.export.no_profile")
        return
    export = await privacy.export_member(turn.session, member, turn.now)
    parts = await asyncio.to_thread(
        privacy.pack_photos, export.photos, turn.services.media.read, limit=PART_LIMIT, when=turn.now
    )
    stamp = turn.now.date().isoformat()
    day = format_day(turn, turn.now.date())
    caption = "mydata.export.json_with_photos" if parts else "mydata.export.json_only"
    turn.send_document(privacy.export_json(export), f"my-data-{stamp}.json", caption, date=day)
    for number, part in enumerate(parts, start=1):
        if len(parts) == 1:
            turn.send_document(part, f"my-photos-{stamp}.zip", "mydata.export.zip_single")
        else:
            turn.send_document(
                part,
                f"my-photos-{stamp}-part{number}of{len(parts)}.zip",
                "mydata.export.zip_part",
                part=number,
                parts=len(parts),
            )


# ---- /deleteme -------------------------------------------------------------------------------
async def deleteme(turn: Turn) -> None:
    """Asks to confirm; nothing changes before Yes."""
    if turn.member is None:
        turn.say("mydata.delete.no_profile")
        return
    await turn.go(S.CONFIRM)


async def ask_confirm(turn: Turn) -> None:
    member = turn.member
    if member is None:  # erased meanwhile (another device): nothing left to ask about
        await turn.finish()
        turn.say("mydata.delete.no_profile")
        return
    preview = await privacy.preview_erasure(turn.session, member)
    text = turn.t("mydata.delete.ask", claims=preview.claims)
    if preview.withdrawn:
        text += "\n\n" + turn.t("mydata.delete.ask_withdraw", order_ids=", ".join(preview.withdrawn))
    rows: ButtonRows = [[(turn.t("mydata.delete.yes"), "yes")], [(turn.t("mydata.delete.no"), "no")]]
    turn.say_text(text, markup=turn.keyboard(rows, back=False, cancel=False))


async def on_confirm(turn: Turn, action: Action) -> None:
    if action.name == "no":
        await turn.finish()
        turn.say("mydata.delete.cancelled", markup=main_menu(turn))
        return
    if action.name != "yes":
        raise StaleButton()
    member = turn.member
    if member is None:
        await turn.finish()
        turn.say("mydata.delete.no_profile")
        return
    settings = turn.services.settings
    erasure = await privacy.erase_member(
        turn.session,
        member,
        turn.now,
        turn.services.media,
        staff_chat_id=settings.staff_chat_id,
        staff_language=settings.default_language,
    )
    await turn.finish()
    turn.member = None
    text = turn.t("mydata.delete.done")
    if erasure.order_ids:
        text += "\n\n" + turn.t("mydata.delete.done_orders", order_ids=", ".join(erasure.order_ids))
    text += "\n\n" + turn.t("mydata.delete.again")
    turn.say_text(text, markup=ReplyKeyboardRemove())


def setup(router: Router) -> None:
    """Adds /mydata, /deleteme and the confirmation step to the router."""
    router.add_flow(Flow(FLOW, {S.CONFIRM: Step(prompt=ask_confirm, on_action=on_confirm)}))
    router.commands |= {"mydata": mydata, "deleteme": deleteme}
    router.anytime.add("mydata")
