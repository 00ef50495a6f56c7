"""The staff's overview: /queue, /next, /find, /stats, and /help in the staff group.

/next picks the oldest claim in review that no other staff member picked in the last 15
minutes (so two people clearing the queue get different claims) and sends its card, album and
buttons, right here.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext
from staff.access import staff_only
from staff.review import age, card_markup, card_text, claim_line, fit, load_card, render_card, reply, send_card, tr
from storage import review, review_queries
from storage.db import unit_of_work

QUEUE_SHOWN = 25


@staff_only("queue")
async def queue_command(update: Update, context: BotContext) -> None:
    services = context.services
    risky_first = bool(context.args) and context.args[0].lower() == "high"  # /queue high: the riskiest first
    async with unit_of_work(services.sessions) as session:
        total, lines = await review_queries.review_queue(session, QUEUE_SHOWN, risky_first=risky_first)
    if total == 0:
        await reply(update, context, tr(services, "staff.queue.empty"))
        return
    text = [tr(services, "staff.queue.title", count=total)]
    text += [f"{index}. {claim_line(services, line, with_age=True)}" for index, line in enumerate(lines, start=1)]
    if total > len(lines):
        text.append(tr(services, "staff.queue.more", count=total - len(lines)))
    text.append(tr(services, "staff.queue.hint"))
    await reply(update, context, fit(text))


@staff_only("next")
async def next_command(update: Update, context: BotContext) -> None:
    services, user, chat = context.services, update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    async with unit_of_work(services.sessions) as session:
        claim = await review_queries.next_unclaimed(session, user.id, services.clock.now())
    if claim is None:
        await reply(update, context, tr(services, "staff.queue.nothing_next"))
        return
    rendered = await render_card(services, {"claim_id": claim.id, "attempt": claim.attempt})
    message_id = await send_card(context, chat.id, rendered)
    if message_id is None:  # not delivered (logged): nothing to remember
        return
    async with unit_of_work(services.sessions) as session:
        await review.remember_card(session, claim.id, chat.id, message_id, replace=False)


@staff_only("find")
async def find_command(update: Update, context: BotContext) -> None:
    services = context.services
    query = " ".join(context.args or []).strip()
    if not query:
        await reply(update, context, tr(services, "staff.find.usage"))
        return
    async with unit_of_work(services.sessions) as session:
        found = await review_queries.find(session, query)
    if not found:
        await reply(update, context, tr(services, "staff.find.none", query=query))
        return
    if len(found) == 1:  # one claim: its whole card, without photos, with buttons if undecided
        card = await load_card(services, found[0].claim.id)
        if card is not None:
            await reply(update, context, card_text(services, card), card_markup(services, card))
            return
    lines = [tr(services, "staff.find.title", query=query, count=len(found))]
    lines += [claim_line(services, line, with_reason=True) for line in found]
    await reply(update, context, fit(lines))


@staff_only("stats")
async def stats_command(update: Update, context: BotContext) -> None:
    services = context.services
    async with unit_of_work(services.sessions) as session:
        numbers = await review_queries.stats(session, services.clock.now())
    lines = [tr(services, "staff.stats.title")]
    for entry in numbers.promotions:
        counts = entry.counts
        lines.append("")
        lines.append(tr(services, "staff.stats.promotion", promotion=review.promotion_name(entry.promotion, services.settings.default_language), slug=entry.promotion.slug))
        lines.append(tr(services, "staff.stats.counts", review=counts.get("review", 0), missing_info=counts.get("missing_info", 0), rejected=counts.get("rejected", 0), approved=counts.get("approved", 0)))
        if entry.codes_left is not None:
            key = "staff.stats.codes_low" if entry.codes_left < services.settings.low_codes_warning else "staff.stats.codes"
            lines.append(tr(services, key, left=entry.codes_left))
    totals = numbers.totals
    lines.append("")
    lines.append(tr(services, "staff.stats.totals", review=totals.get("review", 0), missing_info=totals.get("missing_info", 0), rejected=totals.get("rejected", 0), approved=totals.get("approved", 0)))
    if numbers.median_decision is not None:
        lines.append(tr(services, "staff.stats.median", median=age(services, numbers.median_decision), decided=numbers.decided))
    else:
        lines.append(tr(services, "staff.stats.no_median"))
    if numbers.oldest_waiting is not None:
        lines.append(tr(services, "staff.stats.oldest", age=age(services, numbers.oldest_waiting)))
    lines.append(tr(services, "staff.stats.failed", count=numbers.failed_messages))
    await reply(update, context, fit(lines))


async def group_help(update: Update, context: BotContext) -> None:
    """/help typed in the staff group (in private chats /help is the customer's)."""
    chat = update.effective_chat
    if chat is None or chat.id != context.services.settings.staff_chat_id:
        return
    await staff_help(update, context)


@staff_only("help")
async def staff_help(update: Update, context: BotContext) -> None:
    await reply(update, context, tr(context.services, "staff.help"))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    return [
        CommandHandler("queue", queue_command),  # type: ignore[arg-type]
        CommandHandler("next", next_command),  # type: ignore[arg-type]
        CommandHandler("find", find_command),  # type: ignore[arg-type]
        CommandHandler("stats", stats_command),  # type: ignore[arg-type]
        CommandHandler("help", group_help, filters=filters.ChatType.GROUPS),  # type: ignore[arg-type]
    ]

