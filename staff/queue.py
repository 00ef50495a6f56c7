"""The staff's overview: /queue, /next, /find, /stats, and /help in the staff group.

/next picks the oldest claim in review that no other staff member picked in the last 15
minutes (so two people clearing the queue get different claims) and sends its card, album and
buttons, right here.
"""

from __future__ import annotations

from staff.cards import card_markup, card_text, send_card
from staff.router import Command
from staff.text import age, claim_line, fit, tr
from staff.turn import StaffTurn
from storage import review_lists, review_queries
from storage.texts import promotion_name

QUEUE_SHOWN = 25


async def queue_command(turn: StaffTurn) -> None:
    services = turn.services
    risky_first = bool(turn.args) and turn.args[0].lower() == "high"  # /queue high: the riskiest first
    total, lines = await review_lists.review_queue(turn.session, QUEUE_SHOWN, risky_first=risky_first)
    if total == 0:
        turn.say("staff.queue.empty")
        return
    text = [tr(services, "staff.queue.title", count=total)]
    text += [f"{index}. {claim_line(services, line, with_age=True)}" for index, line in enumerate(lines, start=1)]
    if total > len(lines):
        text.append(tr(services, "staff.queue.more", count=total - len(lines)))
    text.append(tr(services, "staff.queue.hint"))
    turn.say_text(fit(text))


async def next_command(turn: StaffTurn) -> None:
    claim = await review_lists.next_unclaimed(turn.session, turn.user_id, turn.now)
    card = await review_queries.card(turn.session, claim.id) if claim is not None else None
    if card is None:
        turn.say("staff.queue.nothing_next")
        return
    send_card(turn, card)


async def find_command(turn: StaffTurn) -> None:
    services = turn.services
    query = " ".join(turn.args).strip()
    if not query:
        turn.say("staff.find.usage")
        return
    found = await review_lists.find(turn.session, query)
    if not found:
        turn.say("staff.find.none", query=query)
        return
    if len(found) == 1:  # one claim: its whole card, without photos, with buttons if undecided
        card = await review_queries.card(turn.session, found[0].claim.id)
        if card is not None:
            turn.say_text(card_text(services, card), markup=card_markup(services, card))
            return
    lines = [tr(services, "staff.find.title", query=query, count=len(found))]
    lines += [claim_line(services, line, with_reason=True) for line in found]
    turn.say_text(fit(lines))


def _counts(counts: dict[str, int]) -> dict[str, int]:
    return {status: counts.get(status, 0) for status in ("review", "missing_info", "rejected", "approved")}


async def stats_command(turn: StaffTurn) -> None:
    services, settings = turn.services, turn.services.settings
    numbers = await review_lists.stats(turn.session, turn.now)
    lines = [tr(services, "staff.stats.title")]
    for entry in numbers.promotions:
        lines.append("")
        name = promotion_name(entry.promotion, settings.default_language)
        lines.append(tr(services, "staff.stats.promotion", promotion=name, slug=entry.promotion.slug))
        lines.append(tr(services, "staff.stats.counts", **_counts(entry.counts)))
        if entry.codes_left is not None:
            key = "staff.stats.codes_low" if entry.codes_left < settings.low_codes_warning else "staff.stats.codes"
            lines.append(tr(services, key, count=entry.codes_left))
    lines.append("")
    lines.append(tr(services, "staff.stats.totals", **_counts(numbers.totals)))
    if numbers.median_decision is not None:
        lines.append(
            tr(services, "staff.stats.median", median=age(services, numbers.median_decision), decided=numbers.decided)
        )
    else:
        lines.append(tr(services, "staff.stats.no_median"))
    if numbers.oldest_waiting is not None:
        lines.append(tr(services, "staff.stats.oldest", age=age(services, numbers.oldest_waiting)))
    lines.append(tr(services, "staff.stats.failed", count=numbers.failed_messages))
    turn.say_text(fit(lines))


async def staff_help(turn: StaffTurn) -> None:
    """/help typed in the staff group (in private chats /help is the customer's)."""
    turn.say("staff.help")


COMMANDS = [
    Command("queue", queue_command),
    Command("next", next_command),
    Command("find", find_command),
    Command("stats", stats_command),
    Command("help", staff_help, group_only=True),
]
