"""Review cards and decisions: the card (an outbox renderer), its buttons, /approve, /reject, /reopen.

The card is rendered when the outbox sends it: the photos as one album (invoice and S/N photo of
each product), then a message with the facts, the automatic checks, earlier attempts and the
buttons. Staff buttons carry ids only, `s:<action>:<claim id>:<attempt>[:<reason code>]`:

    s:a  approve            s:r  show the reasons     s:b  back to the card's buttons
    s:x  reject with code   s:o  other reason (hint)  s:h  customer history

A decision is made by a storage service (compare-and-set: one of two simultaneous decisions
wins); the customer's message is committed with it through the outbox. Then the winner edits the
card to show the decision, who made it and when, without buttons; the one refused is told who
decided and how, and leaves the card alone (the same edit twice is refused by Telegram). Replies,
toasts and edits go through bot/replies.py, so a 429 or a network error is retried, never a
traceback. Staff read everything in the default language (DEFAULT_LANGUAGE); customers get
their messages in their own language.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update, User
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import BotContext
from locales.countries import country_name
from locales.i18n import Raw, as_plain_text
from bot.outbox import OutboxDispatcher, Rendered
from bot.replies import answer_query, send_html, sender
from bot.services import Services
from staff.access import staff_only
from storage import fraud, review, review_queries
from storage.db import unit_of_work
from storage.models import ClaimStatus, PrizeKind
from storage.review_queries import Card, Check, DecisionInfo

log = logging.getLogger(__name__)

PATTERN = r"^s:[arbxoh]:"
MAX_TEXT = 4000  # Telegram allows 4096
MAX_TOAST = 200
MAX_REASON_SHOWN = 300
MAX_EARLIER = 5
LABEL_CHARS = 40
MAX_REASON_BUTTONS = 40  # the rest stay usable with /reject ORDER_ID CODE


# ---------------------------------------------------------------- shared rendering helpers


def language(services: Services) -> str:
    """Staff read the bot in the default language, in the group and in private chats."""
    return services.settings.default_language


def tr(services: Services, key: str, /, **values: object) -> str:
    return services.translator.t(language(services), key, **values)


def moment(services: Services, at: datetime | None) -> str:
    if at is None:
        return "—"
    return tr(services, "staff.time", time=at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))


def age(services: Services, delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return tr(services, "staff.age.days", days=days, hours=hours)
    if hours:
        return tr(services, "staff.age.hours", hours=hours, minutes=minutes)
    return tr(services, "staff.age.minutes", minutes=minutes)


def who(services: Services, user_id: int | None, name: str | None, username: str | None) -> str:
    if name and username:
        return tr(services, "staff.who.full", name=name, username=username)
    if name or username:
        return tr(services, "staff.who.name", name=name or f"@{username}")
    return tr(services, "staff.who.id", id=user_id if user_id is not None else "?")


def status_label(services: Services, status: str) -> str:
    key = f"staff.status.{status}"
    return tr(services, key) if services.translator.has(key) else status


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut at a word when one ends in its second half."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def reason_text(services: Services, reason: str, code: str | None) -> str:
    """A decision's reason as staff see it: with its code when it had one (HTML)."""
    reason = shorten(reason, MAX_REASON_SHOWN)
    return tr(services, "staff.coded_reason", code=code, reason=reason) if code else tr(services, "staff.plain_reason", reason=reason)


def actor_of(user: User) -> review.Actor:
    return review.Actor(user.id, user.full_name, user.username)


async def reply(update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answers in the chat the staff member wrote in, through the paced, retrying reply sender."""
    chat = update.effective_chat
    if chat is not None:
        await send_html(context, chat.id, text, markup)


def fit(lines: list[str], limit: int = MAX_TEXT) -> str:
    """Joins lines; drops whole lines from the end (never cutting a tag) to stay under the limit."""
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 1:
        lines = lines[:-2] + ["…"]
        text = "\n".join(lines)
    return text


# ---------------------------------------------------------------- the card


def _check(services: Services, check: Check) -> str:
    return tr(services, f"staff.check.{check.key}.{'ok' if check.ok else 'bad'}", **check.values)


def _customer(services: Services, card: Card) -> list[str]:
    member = card.member
    lang = language(services)
    name = tr(services, "staff.card.name", first=member.first_name or "", last=member.last_name or "").strip() or "—"
    country = country_name(member.country, lang) if member.country else "—"
    telegram = tr(services, "staff.card.telegram_handle", username=member.username, id=member.telegram_user_id) if member.username else tr(services, "staff.card.telegram_id", id=member.telegram_user_id)
    return [tr(services, "staff.card.customer", name=name, email=card.claim.email, country=country), tr(services, "staff.card.telegram", telegram=Raw(telegram))]


def _items(services: Services, card: Card) -> list[str]:
    lang = language(services)
    lines: list[str] = []
    for entry in card.items:
        product = entry.product
        catalogue = product.catalogue_product
        category_key, channel_key = f"categories.{catalogue.category}", f"channels.{product.channel}"
        lines.append("")
        lines.append(
            tr(
                services,
                "staff.card.item",
                category=tr(services, category_key) if services.translator.has(category_key) else catalogue.category,
                name=catalogue.name,
                model=catalogue.model,
                serial=product.serial,
                date=product.purchase_date.isoformat(),
                store=product.store_name,
                country=country_name(product.purchase_country, lang),
                channel=tr(services, channel_key) if services.translator.has(channel_key) else product.channel,
            )
        )
        lines += [_check(services, check) for check in entry.checks]
    return lines


def _earlier(services: Services, card: Card) -> list[str]:
    if not card.earlier:
        return []
    lines = ["", tr(services, "staff.card.earlier_title")]
    shown = card.earlier[-MAX_EARLIER:]
    if len(card.earlier) > len(shown):
        lines.append(tr(services, "staff.card.earlier_more", count=len(card.earlier) - len(shown)))
    for past in shown:
        lines.append(
            tr(
                services,
                "staff.card.earlier_line",
                attempt=past.attempt,
                time=moment(services, past.at),
                outcome=status_label(services, past.kind),
                reason=shorten(past.reason, MAX_REASON_SHOWN) if past.reason else "—",
                who=Raw(who(services, past.by_user_id, past.by_name, None)),
            )
        )
    return lines


def decision_lines(services: Services, info: DecisionInfo) -> list[str]:
    lines = [tr(services, "staff.card.decision", outcome=status_label(services, info.status), who=Raw(who(services, info.by_user_id, info.by_name, info.by_username)), time=moment(services, info.at))]
    if info.reason:
        lines.append(tr(services, "staff.card.decision_reason", reason=Raw(reason_text(services, info.reason, info.reason_code))))
    if info.code:
        lines.append(tr(services, "staff.card.decision_code", code=info.code))
    return lines


def risk_lines(services: Services, assessment: fraud.Assessment) -> list[str]:
    """The risk level and every signal behind it, each with what to look at."""
    lines = [tr(services, f"fraud.risk.{assessment.risk.name.lower()}")]
    for finding in assessment.findings:
        details = dict(finding.details)
        if "kind" in details:
            details["kind"] = tr(services, f"fraud.kind.{details['kind']}")
        lines.append(tr(services, f"fraud.signal.{finding.signal.value}", **details))
    return lines


def card_text(services: Services, card: Card) -> str:
    claim, promotion = card.claim, card.promotion
    now = services.clock.now()
    head = [
        tr(services, "staff.card.title", order_id=claim.order_id, attempt=claim.attempt),
        tr(services, "staff.card.promotion", promotion=review.promotion_name(promotion, language(services)), slug=promotion.slug),
        *_customer(services, card),
        tr(services, "staff.card.submitted", time=moment(services, claim.submitted_at), age=age(services, now - claim.submitted_at))
        if card.decision is None
        else tr(services, "staff.card.submitted_at", time=moment(services, claim.submitted_at)),
    ]
    extra: list[str] = [""]
    if promotion.lucky_draw:
        answer = {True: "staff.card.yes", False: "staff.card.no"}.get(claim.lucky_draw_opt_in, "staff.card.unanswered")  # type: ignore[arg-type]
        extra.append(tr(services, "staff.card.lucky", answer=tr(services, answer)))
    if claim.shipping_address:
        address = claim.shipping_address
        extra.append(tr(services, "staff.card.shipping", **{k: address.get(k, "") for k in ("name", "street", "city", "postcode", "country", "phone")}))
    extra += [_check(services, check) for check in card.checks]
    extra += risk_lines(services, card.assessment)
    tail = decision_lines(services, card.decision) if card.decision else [tr(services, "staff.card.waiting")]
    body = head + _items(services, card) + extra + _earlier(services, card)
    return fit(body, MAX_TEXT - len("\n\n".join(tail)) - 2) + "\n\n" + "\n".join(tail)


def card_markup(services: Services, card: Card) -> InlineKeyboardMarkup | None:
    claim = card.claim
    if claim.status != ClaimStatus.REVIEW:
        return None
    ref = f"{claim.id}:{claim.attempt}"
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(tr(services, "staff.button.approve"), callback_data=f"s:a:{ref}"), InlineKeyboardButton(tr(services, "staff.button.reject"), callback_data=f"s:r:{ref}")],
            [InlineKeyboardButton(tr(services, "staff.button.history"), callback_data=f"s:h:{ref}")],
        ]
    )


def reasons_markup(services: Services, claim_id: int, attempt: int, options: list[review.ReasonOption]) -> InlineKeyboardMarkup:
    rows = []
    for option in options[:MAX_REASON_BUTTONS]:
        text = tr(services, f"reasons.label.{option.code}") if option.builtin else shorten(review.canned_text(option.texts, language(services)), LABEL_CHARS)
        label = tr(services, "staff.button.reason_fixable" if option.fixable else "staff.button.reason_final", label=text)
        rows.append([InlineKeyboardButton(as_plain_text(label), callback_data=f"s:x:{claim_id}:{attempt}:{option.code}")])
    rows.append([InlineKeyboardButton(tr(services, "staff.button.other"), callback_data=f"s:o:{claim_id}:{attempt}")])
    rows.append([InlineKeyboardButton(tr(services, "staff.button.back"), callback_data=f"s:b:{claim_id}:{attempt}")])
    return InlineKeyboardMarkup(rows)


def card_photos(services: Services, card: Card) -> list[bytes]:
    """Invoice and S/N photo of each product, in that order (at most 10: one album)."""
    photos: list[bytes] = []
    for entry in card.items:
        for path in (entry.product.invoice_path, entry.item.sn_photo_path):
            if not path:
                continue
            try:
                photos.append(services.media.read(path))
            except (OSError, ValueError):
                log.warning("review card of claim %s: photo %s is missing", card.claim.order_id, path)
    return photos[:10]


async def load_card(services: Services, claim_id: int) -> Card | None:
    async with unit_of_work(services.sessions) as session:
        return await review_queries.card(session, claim_id)


async def render_card(services: Services, payload: dict[str, Any]) -> Rendered:
    """The outbox renderer of "review_card": the album, then the facts and the buttons."""
    card = await load_card(services, int(payload["claim_id"]))
    if card is None:
        raise LookupError(f"claim {payload.get('claim_id')} does not exist")
    return Rendered(card_text(services, card), card_markup(services, card), card_photos(services, card))


async def card_sent(session: AsyncSession, payload: dict[str, Any], chat_id: int, message_id: int) -> None:
    await review.remember_card(session, int(payload["claim_id"]), chat_id, message_id)


async def send_card(context: BotContext, chat_id: int, rendered: Rendered) -> int | None:
    """Sends a card right away (e.g. /next): the album, then the message; its id (None when
    it could not be delivered)."""
    bot, send = context.bot, sender(context).send
    if len(rendered.photos) > 1:
        await send(chat_id, bot.send_media_group, chat_id, [InputMediaPhoto(photo) for photo in rendered.photos[:10]])
    elif rendered.photos:
        await send(chat_id, bot.send_photo, chat_id, rendered.photos[0])
    message = await send(chat_id, bot.send_message, chat_id, rendered.text, parse_mode=ParseMode.HTML, reply_markup=rendered.markup)
    return message.message_id if message is not None else None


async def refresh_card(context: BotContext, claim_id: int, also: tuple[int, int] | None = None, *, card_too: bool = True) -> None:
    """Edits the claim's card (and the message a button was pressed on) to its current state.

    `card_too=False` leaves the claim's card alone: after a refused decision the decision that
    won edits it, and a second edit would be refused ("message is not modified"); only another
    copy the refused staff member pressed on (e.g. a /next card) is brought up to date."""
    services = context.services
    card = await load_card(services, claim_id)
    if card is None:
        return
    main = (card.claim.card_chat_id, card.claim.card_message_id) if card.claim.card_chat_id is not None and card.claim.card_message_id is not None else None
    targets = [main] if main is not None and card_too else []
    if also is not None and also != main and also not in targets:
        targets.append(also)
    text, markup = card_text(services, card), card_markup(services, card)
    for chat_id, message_id in targets:  # type: ignore[misc]
        try:
            await sender(context).send(chat_id, context.bot.edit_message_text, text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.warning("could not edit the card of claim %s in chat %s: %s", card.claim.order_id, chat_id, exc)
        except TelegramError as exc:
            log.warning("could not edit the card of claim %s in chat %s: %s", card.claim.order_id, chat_id, exc)


# ---------------------------------------------------------------- decisions (buttons and commands share these)


@dataclass
class Outcome:
    ok: bool
    text: str
    claim_id: int | None = None
    refused: review.DecisionError | None = None


Action = Callable[[AsyncSession, review.Actor], Awaitable[review.Decision]]


def _refusal_text(services: Services, refused: review.DecisionRefused, order_id: str, info: DecisionInfo | None) -> str:
    if refused.error == review.DecisionError.ALREADY_DECIDED and info is not None:
        return tr(services, "staff.review.already_decided", order_id=order_id, outcome=status_label(services, info.status), who=Raw(who(services, info.by_user_id, info.by_name, info.by_username)), time=moment(services, info.at))
    return tr(services, f"staff.review.refused.{refused.error.value}", order_id=order_id)


async def decide(context: BotContext, user: User, order_id: str, what: str, action: Action) -> Outcome:
    """Runs a decision in its own transaction; a refusal is audited and explained."""
    services = context.services
    actor = actor_of(user)
    try:
        async with unit_of_work(services.sessions) as session:
            decision = await action(session, actor)
    except review.DecisionRefused as refused:
        async with unit_of_work(services.sessions) as session:
            await review.record_refusal(session, order_id, user.id, refused.error, what, services.clock.now())
            info = await review_queries.decision_info(session, refused.claim_id) if refused.claim_id is not None else None
        return Outcome(False, _refusal_text(services, refused, order_id, info), refused.claim_id, refused.error)
    claim = decision.claim
    if claim.status == ClaimStatus.APPROVED:
        if decision.code:
            text = tr(services, "staff.review.approved_code", order_id=claim.order_id, code=decision.code, left=decision.codes_left if decision.codes_left is not None else "?")
        elif decision.promotion.prize_kind == PrizeKind.CASHBACK:
            text = tr(services, "staff.review.approved_cashback", order_id=claim.order_id)
        else:
            text = tr(services, "staff.review.approved", order_id=claim.order_id)
    else:
        key = "staff.review.missing_info" if claim.status == ClaimStatus.MISSING_INFO else "staff.review.rejected"
        text = tr(services, key, order_id=claim.order_id, reason=Raw(reason_text(services, claim.reason or "", claim.reason_code)))
    return Outcome(True, text, claim.id)


def _notice(services: Services) -> review.StaffNotice:
    settings = services.settings
    return review.StaffNotice(settings.staff_chat_id, language(services), settings.low_codes_warning)


async def approve_claim(context: BotContext, user: User, order_id: str, code: str | None = None) -> Outcome:
    services = context.services

    async def action(session: AsyncSession, actor: review.Actor) -> review.Decision:
        return await review.approve(session, order_id, user.id, services.clock.now(), code, actor=actor, notice=_notice(services))

    return await decide(context, user, order_id, "approve", action)


async def reject_claim(context: BotContext, user: User, order_id: str, *, code: str | None = None, text: str | None = None, final: bool = False) -> Outcome:
    services = context.services

    def label(lang: str, key: str) -> str:
        return services.translator.t(lang, key)

    async def action(session: AsyncSession, actor: review.Actor) -> review.Decision:
        return await review.reject_with(session, order_id, user.id, services.clock.now(), label=label, code=code, text=text, final=final, actor=actor)

    return await decide(context, user, order_id, "reject", action)


# ---------------------------------------------------------------- buttons


async def _toast(update: Update, text: str | None = None, alert: bool = False) -> None:
    query = update.callback_query
    assert query is not None
    await answer_query(query, shorten(as_plain_text(text), MAX_TOAST) if text else None, alert=alert)


@staff_only("review.button")
async def on_button(update: Update, context: BotContext) -> None:
    services = context.services
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    parts = (query.data or "").split(":")
    try:
        action, claim_id, attempt = parts[1], int(parts[2]), int(parts[3])
    except (IndexError, ValueError):
        await _toast(update, tr(services, "staff.review.stale"))
        return
    message = query.message
    here = (message.chat.id, message.message_id) if message is not None else None
    async with unit_of_work(services.sessions) as session:
        claim = await review_queries.claim_by_id(session, claim_id)
        options = await review.reason_options(session) if action == "r" else []
    if claim is None:
        await _toast(update, tr(services, "staff.review.stale"))
        return
    if action == "h":
        await _toast(update)
        await send_history(context, message.chat.id if message is not None else user.id, claim_id)
        return
    if claim.attempt != attempt:
        await _toast(update, tr(services, "staff.review.outdated", order_id=claim.order_id, attempt=claim.attempt), alert=True)
        if message is not None:
            with contextlib.suppress(TelegramError):  # an older attempt's card: best effort
                await context.bot.edit_message_reply_markup(message.chat.id, message.message_id, reply_markup=None)
        return
    if claim.status != ClaimStatus.REVIEW and action in "arbxo":
        async with unit_of_work(services.sessions) as session:
            info = await review_queries.decision_info(session, claim_id)
            await review.record_refusal(session, claim.order_id, user.id, review.DecisionError.ALREADY_DECIDED, action, services.clock.now())
        refused = review.DecisionRefused(review.DecisionError.ALREADY_DECIDED, claim)
        await _toast(update, _refusal_text(services, refused, claim.order_id, info), alert=True)
        await refresh_card(context, claim_id, here, card_too=False)
        return
    if action == "r":
        await _toast(update)
        if message is not None:
            with contextlib.suppress(BadRequest):  # a second tap: "message is not modified"
                await sender(context).send(message.chat.id, context.bot.edit_message_reply_markup, message.chat.id, message.message_id, reply_markup=reasons_markup(services, claim_id, attempt, options))
        return
    if action == "b":
        await _toast(update)
        await refresh_card(context, claim_id, here)
        return
    if action == "o":
        await _toast(update, tr(services, "staff.review.other_hint", order_id=claim.order_id), alert=True)
        return
    if action == "a":
        outcome = await approve_claim(context, user, claim.order_id)
    else:  # "x"
        code = parts[4] if len(parts) > 4 else ""
        outcome = await reject_claim(context, user, claim.order_id, code=code)
    await _toast(update, outcome.text, alert=not outcome.ok)
    if outcome.ok:
        await refresh_card(context, claim_id, here)
    elif outcome.refused == review.DecisionError.ALREADY_DECIDED:  # the winner edits the card
        await refresh_card(context, claim_id, here, card_too=False)


async def send_history(context: BotContext, chat_id: int, claim_id: int) -> None:
    """The customer behind a claim: their claims, newest first, and how many products they have."""
    services = context.services
    async with unit_of_work(services.sessions) as session:
        history = await review_queries.customer_history(session, claim_id)
    if history is None:
        await send_html(context, chat_id, tr(services, "staff.review.stale"))
        return
    member = history.member
    telegram = tr(services, "staff.card.telegram_handle", username=member.username, id=member.telegram_user_id) if member.username else tr(services, "staff.card.telegram_id", id=member.telegram_user_id)
    name = tr(services, "staff.card.name", first=member.first_name or "", last=member.last_name or "").strip() or "—"
    lines = [tr(services, "staff.history.title", name=name, email=member.email or "—", telegram=Raw(telegram), products=history.products, claims=len(history.claims))]
    for line in history.claims:
        lines.append(claim_line(services, line, with_reason=True))
    if not history.claims:
        lines.append(tr(services, "staff.history.none"))
    await send_html(context, chat_id, fit(lines))


def claim_line(services: Services, line: review_queries.ClaimLine, *, with_reason: bool = False, with_age: bool = False) -> str:
    """One claim in a list: order ID, date, promotion, product(s), status (and reason or age)."""
    claim = line.claim
    products = ", ".join(tr(services, "staff.product", name=p.catalogue_product.name, serial=p.serial) for p in line.products) or "—"
    text = tr(
        services,
        "staff.line",
        order_id=claim.order_id,
        date=claim.submitted_at.astimezone(UTC).date().isoformat(),
        promotion=line.promotion.slug,
        products=products,
        status=status_label(services, claim.status),
        attempt=claim.attempt,
    )
    if with_age:
        text += tr(services, "staff.line_age", age=age(services, services.clock.now() - claim.submitted_at))
        if line.risk > fraud.Risk.LOW:
            text += " " + tr(services, f"fraud.mark.{line.risk.name.lower()}")
    if with_reason and claim.reason:
        text += tr(services, "staff.line_reason", reason=shorten(claim.reason, 120))
    return text


# ---------------------------------------------------------------- commands


def _order_and_rest(update: Update) -> tuple[str | None, str]:
    """"/cmd ORDER rest of the text" → (order, rest), keeping the reason's own spacing."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=2) if message is not None else []
    return (parts[1] if len(parts) > 1 else None), (parts[2].strip() if len(parts) > 2 else "")


@staff_only("approve")
async def approve_command(update: Update, context: BotContext) -> None:
    services, user = context.services, update.effective_user
    assert user is not None
    order_id, rest = _order_and_rest(update)
    if order_id is None:
        await reply(update, context, tr(services, "staff.review.usage_approve"))
        return
    code = rest.split()[0] if rest else None
    outcome = await approve_claim(context, user, order_id, code)
    await reply(update, context, outcome.text)
    if outcome.ok and outcome.claim_id is not None:  # a refused decision changed nothing on the card
        await refresh_card(context, outcome.claim_id)


@staff_only("reject")
async def reject_command(update: Update, context: BotContext) -> None:
    services, user = context.services, update.effective_user
    assert user is not None
    order_id, rest = _order_and_rest(update)
    if order_id is None or not rest:
        async with unit_of_work(services.sessions) as session:
            codes = ", ".join(option.code for option in await review.reason_options(session))
        await reply(update, context, tr(services, "staff.review.usage_reject", codes=codes))
        return
    final = False
    marker = tr(services, "staff.review.final_marker")
    for prefix in {marker.lower(), "final:"}:
        if rest.lower().startswith(prefix):
            final, rest = True, rest[len(prefix) :].strip()
    outcome = await reject_claim(context, user, order_id, text=rest, final=final)
    await reply(update, context, outcome.text)
    if outcome.ok and outcome.claim_id is not None:  # a refused decision changed nothing on the card
        await refresh_card(context, outcome.claim_id)


@staff_only("reopen", admin=True)
async def reopen_command(update: Update, context: BotContext) -> None:
    services, user = context.services, update.effective_user
    assert user is not None
    order_id, _ = _order_and_rest(update)
    if order_id is None:
        await reply(update, context, tr(services, "staff.review.usage_reopen"))
        return
    now = services.clock.now()
    try:
        async with unit_of_work(services.sessions) as session:
            claim = await review.reopen(session, order_id, user.id, now, actor=actor_of(user), review_chat_id=services.settings.staff_chat_id)
    except review.DecisionRefused as refused:
        async with unit_of_work(services.sessions) as session:
            await review.record_refusal(session, order_id, user.id, refused.error, "reopen", now)
        await reply(update, context, tr(services, f"staff.review.refused.{refused.error.value}", order_id=order_id))
        return
    await reply(update, context, tr(services, "staff.review.reopened", order_id=claim.order_id))


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    return [
        CommandHandler("approve", approve_command),  # type: ignore[arg-type]
        CommandHandler("reject", reject_command),  # type: ignore[arg-type]
        CommandHandler("reopen", reopen_command),  # type: ignore[arg-type]
        CallbackQueryHandler(on_button, pattern=PATTERN),  # type: ignore[arg-type]
    ]


def register_outbox(dispatcher: OutboxDispatcher) -> None:
    dispatcher.renderers["review_card"] = render_card
    dispatcher.after_send["review_card"] = card_sent
