"""The review card: its text, photos and buttons, the outbox renderer, and queued card edits.

The card is rendered when the outbox sends it (`render_card`, registered for "review_card"):
the photos as one album (invoice and S/N photo of each product), then a message with the facts,
the automatic checks, the risk, earlier attempts and the buttons (staff/actions.py). The sent
message's id is stored on the claim (`card_sent`), so a decision can edit the card later.

Inside a staff turn the card is read in the turn's unit of work and its edits are queued on the
turn (`queue_card_edits`), to be sent after the commit.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.outbox import OutboxDispatcher, Rendered
from bot.services import Services
from locales.countries import country_name
from locales.i18n import Raw, as_plain_text, person_name
from staff.actions import Button, CardAction
from staff.support_card import card_lines
from staff.text import (
    MAX_TEXT,
    age,
    fit,
    language,
    moment,
    reason_text,
    shorten,
    status_label,
    stored_reason,
    tr,
    who,
)
from staff.turn import StaffTurn
from storage import fraud, fulfilment, reasons, review, review_queries
from storage.db import unit_of_work
from storage.models import ClaimStatus, Fulfilment, FulfilmentState, PrizeKind
from storage.review_queries import Card, Check, DecisionInfo
from storage.texts import promotion_name

log = logging.getLogger(__name__)

MAX_EARLIER = 5
LABEL_CHARS = 40
MAX_REASON_BUTTONS = 40  # the rest stay usable with /reject ORDER_ID CODE


def _check(services: Services, check: Check) -> str:
    return tr(services, f"staff.check.{check.key}.{'ok' if check.ok else 'bad'}", **check.values)


def telegram_of(services: Services, username: str | None, user_id: int) -> str:
    """A customer's Telegram handle and id as the card and the history show them (HTML)."""
    if username:
        return tr(services, "staff.card.telegram_handle", username=username, id=user_id)
    return tr(services, "staff.card.telegram_id", id=user_id)


def full_name(services: Services, first: str | None, last: str | None) -> str:
    return person_name(first, last, language(services)) or "—"


def _customer(services: Services, card: Card) -> list[str]:
    member = card.member
    name = full_name(services, member.first_name, member.last_name)
    country = country_name(member.country, language(services)) if member.country else "—"
    telegram = telegram_of(services, member.username, member.telegram_user_id)
    return [
        tr(services, "staff.card.customer", name=name, email=card.claim.email, country=country),
        tr(services, "staff.card.telegram", telegram=Raw(telegram)),
    ]


def _label(services: Services, key: str, fallback: str) -> str:
    return tr(services, key) if services.translator.has(key) else fallback


def _items(services: Services, card: Card) -> list[str]:
    lines: list[str] = []
    for entry in card.items:
        product = entry.product
        catalogue = product.catalogue_product
        lines.append("")
        lines.append(
            tr(
                services,
                "staff.card.item",
                category=_label(services, f"categories.{catalogue.category}", catalogue.category),
                name=catalogue.name,
                model=catalogue.model,
                serial=product.serial,
                date=product.purchase_date.isoformat(),
                store=product.store_name,
                country=country_name(product.purchase_country, language(services)),
                channel=_label(services, f"channels.{product.channel}", product.channel),
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
                reason=shorten(past.reason, 300) if past.reason else "—",
                who=Raw(who(services, past.by_user_id, past.by_name, None)),
            )
        )
    return lines


def decided_by(services: Services, info: DecisionInfo) -> Raw:
    return Raw(who(services, info.by_user_id, info.by_name, info.by_username))


def decision_lines(services: Services, info: DecisionInfo) -> list[str]:
    outcome = status_label(services, info.status)
    lines = [
        tr(
            services,
            "staff.card.decision",
            outcome=outcome,
            who=decided_by(services, info),
            time=moment(services, info.at),
        )
    ]
    reason = stored_reason(services, info.reason, info.reason_code)
    if reason:
        lines.append(
            tr(services, "staff.card.decision_reason", reason=Raw(reason_text(services, reason, info.reason_code)))
        )
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


def _lucky_answer(opt_in: bool | None) -> str:
    if opt_in is None:
        return "staff.card.unanswered"
    return "staff.card.yes" if opt_in else "staff.card.no"


def _state(services: Services, row: Fulfilment | None, due: date | None) -> str:
    if row is None or row.state == FulfilmentState.APPROVED:
        return tr(services, "fulfilment.card.state_approved", due=due.isoformat() if due else "—")
    if row.state == FulfilmentState.PAID:
        return tr(
            services, "fulfilment.card.state_paid", paid_on=str(row.paid_on), reference=row.payment_reference or ""
        )
    if row.state == FulfilmentState.DELIVERED:
        return tr(services, "fulfilment.card.state_delivered", day=str(row.delivered_on))
    return tr(
        services,
        "fulfilment.card.state_shipped",
        shipped_on=str(row.shipped_on),
        carrier=row.carrier or "",
        tracking=row.tracking_number or "",
    )


def fulfilment_lines(services: Services, card: Card) -> list[str]:
    """The payout (masked), where the prize is after approval, and a lucky-draw prize's address."""
    claim, promotion = card.claim, card.promotion
    row = card.after.get(fulfilment.PRIZE)
    lines: list[str] = []
    if promotion.prize_kind == PrizeKind.CASHBACK:
        if row is not None and row.payout:
            lines.append(tr(services, "fulfilment.card.payout", payout=fulfilment.mask(row.payout)))
        else:
            erased = row is not None and row.payout_erased_at is not None
            lines.append(tr(services, "fulfilment.card.payout_erased" if erased else "fulfilment.card.payout_missing"))
    if claim.status == ClaimStatus.APPROVED and promotion.prize_kind != PrizeKind.DIGITAL_CODE:
        due = fulfilment.fulfilment_due(claim, promotion)
        lines.append(tr(services, "fulfilment.card.line", state=Raw(_state(services, row, due))))
    won = card.after.get(fulfilment.DRAW)
    if won is not None and won.address:
        fields = {k: won.address.get(k, "") for k in ("name", "street", "city", "postcode", "country", "phone")}
        lines.append(tr(services, "fulfilment.card.draw", state=Raw(_state(services, won, None)), **fields))
    return lines


def card_text(services: Services, card: Card) -> str:
    claim, promotion = card.claim, card.promotion
    now = services.clock.now()
    submitted = (
        tr(
            services,
            "staff.card.submitted",
            time=moment(services, claim.submitted_at),
            age=age(services, now - claim.submitted_at),
        )
        if card.decision is None
        else tr(services, "staff.card.submitted_at", time=moment(services, claim.submitted_at))
    )
    head = [
        tr(services, "staff.card.title", order_id=claim.order_id, attempt=claim.attempt),
        tr(
            services,
            "staff.card.promotion",
            promotion=promotion_name(promotion, language(services)),
            slug=promotion.slug,
        ),
        *_customer(services, card),
        submitted,
    ]
    extra: list[str] = [""]
    if promotion.lucky_draw:
        extra.append(tr(services, "staff.card.lucky", answer=tr(services, _lucky_answer(claim.lucky_draw_opt_in))))
    if claim.shipping_address:
        address = claim.shipping_address
        fields = ("name", "street", "city", "postcode", "country", "phone")
        extra.append(tr(services, "staff.card.shipping", **{k: address.get(k, "") for k in fields}))
    extra += fulfilment_lines(services, card)
    extra += [_check(services, check) for check in card.checks]
    extra += risk_lines(services, card.assessment)
    tail = decision_lines(services, card.decision) if card.decision else [tr(services, "staff.card.waiting")]
    body = (
        head
        + _items(services, card)
        + extra
        + _earlier(services, card)
        + card_lines(services, card.support, card.support_total)
    )
    return fit(body, MAX_TEXT - len("\n\n".join(tail)) - 2) + "\n\n" + "\n".join(tail)


def _button(label: str, button: Button, claim_id: int, attempt: int, code: str | None = None) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        as_plain_text(label), callback_data=CardAction(button, claim_id, attempt, code).encode()
    )


def card_markup(services: Services, card: Card) -> InlineKeyboardMarkup | None:
    """Approve, Reject… and Customer history while the claim is in review; none once decided."""
    claim = card.claim
    if claim.status != ClaimStatus.REVIEW:
        return None
    ref = (claim.id, claim.attempt)
    return InlineKeyboardMarkup(
        [
            [
                _button(tr(services, "staff.button.approve"), Button.APPROVE, *ref),
                _button(tr(services, "staff.button.reject"), Button.REASONS, *ref),
            ],
            [_button(tr(services, "staff.button.history"), Button.HISTORY, *ref)],
        ]
    )


def reasons_markup(
    services: Services, claim_id: int, attempt: int, options: list[reasons.ReasonOption]
) -> InlineKeyboardMarkup:
    """One button per reason (🔁 fixable, ⛔ final), then "Other reason…" and Back."""
    rows = []
    for option in options[:MAX_REASON_BUTTONS]:
        if option.builtin:
            text = tr(services, f"reasons.label.{option.code}")
        else:
            text = shorten(reasons.canned_text(option.texts, language(services)), LABEL_CHARS)
        label = tr(
            services, "staff.button.reason_fixable" if option.fixable else "staff.button.reason_final", label=text
        )
        rows.append([_button(label, Button.REJECT, claim_id, attempt, option.code)])
    rows.append([_button(tr(services, "staff.button.other"), Button.OTHER, claim_id, attempt)])
    rows.append([_button(tr(services, "staff.button.back"), Button.BACK, claim_id, attempt)])
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


# ---------------------------------------------------------------- the outbox's card


async def render_card(services: Services, payload: dict[str, Any]) -> Rendered:
    """The outbox renderer of "review_card": the album, then the facts and the buttons."""
    async with unit_of_work(services.sessions) as session:
        card = await review_queries.card(session, int(payload["claim_id"]))
    if card is None:
        raise LookupError(f"claim {payload.get('claim_id')} does not exist")
    return Rendered(card_text(services, card), card_markup(services, card), card_photos(services, card))


async def card_sent(session: AsyncSession, payload: dict[str, Any], chat_id: int, message_id: int) -> None:
    await review.remember_card(session, int(payload["claim_id"]), chat_id, message_id)


def register_outbox(dispatcher: OutboxDispatcher) -> None:
    dispatcher.renderers["review_card"] = render_card
    dispatcher.after_send["review_card"] = card_sent


# ---------------------------------------------------------------- cards in a staff turn


def main_card(card: Card) -> tuple[int, int] | None:
    """Where the claim's card is (the one the outbox sent, or the first /next sent)."""
    claim = card.claim
    if claim.card_chat_id is None or claim.card_message_id is None:
        return None
    return claim.card_chat_id, claim.card_message_id


async def queue_card_edits(
    turn: StaffTurn, claim_id: int, *, main: bool, pressed: tuple[int, int] | None = None
) -> None:
    """Queues edits that bring the claim's card (when `main`) and the pressed copy up to date.

    A refused decision passes `main=False`: the decision that won edits the card, and the same
    edit twice is refused by Telegram ("message is not modified"); only another copy the refused
    staff member pressed on (e.g. a /next card) is brought up to date."""
    card = await review_queries.card(turn.session, claim_id)
    if card is None:
        return
    home = main_card(card)
    targets = [home] if main and home is not None else []
    if pressed is not None and pressed != home:
        targets.append(pressed)
    text, markup = card_text(turn.services, card), card_markup(turn.services, card)
    for chat_id, message_id in targets:
        turn.edit_text(chat_id, message_id, text, markup)


async def show_on(turn: StaffTurn, claim_id: int, target: tuple[int, int]) -> None:
    """Queues an edit of one message to the claim's card as it is now (Back, a redelivered press)."""
    card = await review_queries.card(turn.session, claim_id)
    if card is not None:
        turn.edit_text(*target, card_text(turn.services, card), card_markup(turn.services, card))


def send_card(turn: StaffTurn, card: Card) -> None:
    """Queues a whole card here (/next): the album, then the facts and buttons. The message's
    id is remembered once it is sent, when the claim has no card yet, so decisions edit it."""
    services = turn.services
    claim_id = card.claim.id

    async def remember(message_id: int) -> None:
        async with unit_of_work(services.sessions) as session:
            await review.remember_card(session, claim_id, turn.chat_id, message_id, replace=False)

    turn.send_photos(card_photos(services, card))
    turn.say_text(card_text(services, card), markup=card_markup(services, card), on_sent=remember)
