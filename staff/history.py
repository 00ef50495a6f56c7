"""The customer behind a claim, for the card's "Customer history" button: their claims, newest
first, and how many products they registered."""

from __future__ import annotations

from locales.i18n import Raw
from staff.cards import full_name, telegram_of
from staff.text import claim_line, fit, tr
from staff.turn import StaffTurn
from storage import review_lists


async def show(turn: StaffTurn, claim_id: int) -> None:
    """Queues the history as a message in the chat the button was pressed in."""
    services = turn.services
    found = await review_lists.customer_history(turn.session, claim_id)
    if found is None:
        turn.notify("staff.review.stale", alert=True)
        return
    member = found.member
    telegram = telegram_of(services, member.username, member.telegram_user_id)
    name = full_name(services, member.first_name, member.last_name)
    title = tr(
        services,
        "staff.history.title",
        name=name,
        email=member.email or "—",
        telegram=Raw(telegram),
        products=found.products,
        claims=len(found.claims),
    )
    lines = [title, *(claim_line(services, line, with_reason=True) for line in found.claims)]
    if not found.claims:
        lines.append(tr(services, "staff.history.none"))
    turn.say_text(fit(lines))
