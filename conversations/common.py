"""Commands that work everywhere: /cancel, /help, and what to say to anything else."""

from __future__ import annotations

from conversations.journey import Action
from conversations.replies import main_menu
from conversations.router import GlobalAction, Router
from conversations.turn import Turn


async def cancel(turn: Turn) -> None:
    """Drops the journey in progress; what was saved before it stays saved."""
    had_journey = turn.state is not None
    await turn.finish()
    turn.say("common.cancelled" if had_journey else "common.nothing_to_cancel", markup=main_menu(turn))


async def help_command(turn: Turn) -> None:
    """Lists what the bot can do."""
    turn.say("help.text", markup=main_menu(turn) if turn.state is None else None)


async def not_understood(turn: Turn) -> None:
    """Text outside any journey that matched nothing: point at the menu."""
    turn.say("common.not_understood", markup=main_menu(turn))


def resume_action(router: Router) -> GlobalAction:
    """The reminder's Continue button: asks the pending question again."""

    async def resume(turn: Turn, _action: Action) -> None:
        if turn.state is None or turn.state.flow not in router.flows:
            turn.notify("reminders.nothing_to_continue")
            return
        turn.reask()

    return resume
