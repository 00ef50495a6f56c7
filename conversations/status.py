"""My redemptions: the guide's "Redeem Records", newest first, with each status in words.

`/status` (or the 📋 menu button) lists every claim: redeem date, order ID, promotion, product
name / serial, and the status — under review (with the promised answer date, and an apology when
it is late), missing information (the staff's reason and a "Redeem again" button, the global
action "again" with the order ID, handled by the redeem module), not qualified (final, with the reason), or
success (the activation code with how to use it and the landing page; the cashback amount and its
latest payment date; the physical prize's shipping promise).

Records are sent STATUS_PER_MESSAGE to a message and never more than MESSAGE_BUDGET characters,
so a long history becomes several messages; each message carries the Redeem-again buttons of its
own records. The button reads `status.redeem_again` (as on the decision message) when a message
has one such record, and names the order ID when it has several.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from telegram import InlineKeyboardMarkup

from conversations.faq import promotion_name
from conversations.products import format_day, today_for
from conversations.promotions import localized, money
from conversations.replies import main_menu
from conversations.router import Router
from conversations.turn import Turn
from locales.i18n import Raw
from storage import claims, fulfilment, promotions
from storage.claims import Record
from storage.eligibility import customer_today
from storage.models import ClaimStatus, Fulfilment, FulfilmentState, PrizeKind

STATUS_PER_MESSAGE = 10
MESSAGE_BUDGET = 3800  # below Telegram's 4096 characters per message
MAX_REASON = 600  # a very long staff reason is shortened in the list (the decision message has it all)


@dataclass
class After:
    """What happened after the approvals: the prizes' fulfilment rows and the lucky-draw wins."""

    rows: dict[tuple[int, str], Fulfilment] = field(default_factory=dict)
    wins: dict[str, str] = field(default_factory=dict)  # order ID -> waiting | answered | lapsed


def _day(turn: Turn, value: object) -> str:
    return format_day(turn, value) if isinstance(value, date) else "—"


def fulfilment_line(
    turn: Turn, record: Record, row: Fulfilment | None, prefix: str = "fulfilment.status"
) -> str | None:
    """Paid (date, reference), shipped (carrier, tracking, link), delivered; None while approved."""
    if row is None or row.state == FulfilmentState.APPROVED:
        return None
    if row.state == FulfilmentState.PAID:
        return turn.t(
            "fulfilment.status.paid",
            amount=money(turn, record.promotion),
            paid_on=_day(turn, row.paid_on),
            reference=row.payment_reference or "—",
        )
    if row.state == FulfilmentState.DELIVERED:
        return turn.t("fulfilment.status.delivered", day=_day(turn, row.delivered_on))
    link = fulfilment.tracking_url(row.carrier, row.tracking_number)
    return turn.t(
        "fulfilment.status.shipped_link" if link else "fulfilment.status.shipped",
        shipped_on=_day(turn, row.shipped_on),
        carrier=row.carrier or "—",
        tracking=row.tracking_number or "—",
        link=link or "",
    )


def _reason(turn: Turn, record: Record) -> str:
    reason = (record.claim.reason or "").strip()
    if not reason:
        return turn.t("status.no_reason")
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1].rstrip() + "…"


def _approved(turn: Turn, record: Record) -> str:
    claim, promotion = record.claim, record.promotion
    if promotion.prize_kind == PrizeKind.CASHBACK:
        due = promotions.cashback_due(claim)
        return turn.t(
            "status.approved_cashback", amount=money(turn, promotion), date=format_day(turn, due) if due else "—"
        )
    if promotion.prize_kind == PrizeKind.PHYSICAL:
        due = promotions.delivery_due(claim)
        description = localized(turn, promotion.prize_description) or turn.t("status.physical_prize")
        weeks = promotions.PHYSICAL_DELIVERY_WEEKS
        return turn.t(
            "status.approved_physical",
            prize=description,
            min_weeks=weeks[0],
            max_weeks=weeks[1],
            date=format_day(turn, due) if due else "—",
        )
    if record.code is None:
        return turn.t("status.approved_code_missing")
    text = turn.t("status.approved_code", code=record.code)
    if promotion.landing_url:
        text += "\n" + turn.t("status.landing", url=promotion.landing_url)
    return text


def render_status(turn: Turn, record: Record, after: After | None = None) -> str:
    """The status of one claim in words, with what the customer can do about it."""
    claim, promotion = record.claim, record.promotion
    if claim.status == ClaimStatus.REVIEW:
        expected = claims.expected_decision(claim.submitted_at, promotion)
        late = promotions.review_overdue(claim, promotion, today_for(turn))
        return turn.t("status.review_late" if late else "status.review", date=format_day(turn, expected))
    if claim.status == ClaimStatus.MISSING_INFO:
        return turn.t("status.missing_info", reason=_reason(turn, record))
    if claim.status == ClaimStatus.REJECTED:
        return turn.t("status.rejected", reason=_reason(turn, record))
    if claim.status == ClaimStatus.APPROVED:
        done = fulfilment_line(turn, record, (after or After()).rows.get((claim.id, fulfilment.PRIZE)))
        return _approved(turn, record) + ("\n" + done if done else "")
    return turn.t("status.unknown")


def _lucky_line(turn: Turn, record: Record, after: After) -> str:
    claim = record.claim
    won = after.wins.get(claim.order_id)
    if won is None:
        return turn.t("status.lucky_draw_joined" if claim.lucky_draw_opt_in else "status.lucky_draw_declined")
    if won == "lapsed":
        return turn.t("fulfilment.status.draw_lapsed")
    if won == "waiting":
        return turn.t("fulfilment.status.draw_won")
    text = turn.t("fulfilment.status.draw_claimed")
    parcel = after.rows.get((claim.id, fulfilment.DRAW))
    state = fulfilment_line(turn, record, parcel)
    if state:
        text += "\n" + turn.t("fulfilment.status.draw_parcel", state=Raw(state))
    return text


def render_record(turn: Turn, index: int, record: Record, after: After | None = None) -> str:
    claim, promotion = record.claim, record.promotion
    country = turn.member.country if turn.member is not None else None
    products = "\n".join(
        turn.t("status.product", name=p.catalogue_product.name, serial=p.serial) for p in record.products
    ) or turn.t("status.no_product")
    text = turn.t(
        "status.entry",
        index=index,
        promotion=promotion_name(turn, promotion),
        date=format_day(turn, customer_today(claim.submitted_at, country)),
        order_id=claim.order_id,
        products=Raw(products),
        status=Raw(render_status(turn, record, after)),
    )
    if promotion.lucky_draw and claim.lucky_draw_opt_in is not None:
        text += "\n" + _lucky_line(turn, record, after or After())
    return text


def _chunks(turn: Turn, entries: list[tuple[str, Record]]) -> list[list[tuple[str, Record]]]:
    """At most STATUS_PER_MESSAGE records and MESSAGE_BUDGET characters (header included) a message."""
    header_room = len(turn.t("status.title_part", first=999, last=999, count=999)) + 2
    chunks: list[list[tuple[str, Record]]] = []
    size = 0
    for entry in entries:
        extra = len(entry[0]) + 2
        if not chunks or len(chunks[-1]) >= STATUS_PER_MESSAGE or size + extra > MESSAGE_BUDGET - header_room:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += extra
    return chunks


def _again_buttons(turn: Turn, records: list[Record]) -> InlineKeyboardMarkup | None:
    fixable = [r.claim.order_id for r in records if r.claim.status == ClaimStatus.MISSING_INFO]
    if not fixable:
        return None
    if len(fixable) == 1:
        return InlineKeyboardMarkup([[turn.global_button(turn.t("status.redeem_again"), f"again:{fixable[0]}")]])
    return InlineKeyboardMarkup(
        [
            [turn.global_button(turn.t("status.redeem_again_order", order_id=order_id), f"again:{order_id}")]
            for order_id in fixable
        ]
    )


async def show_status(turn: Turn) -> None:
    """/status: every claim, newest first, split over as many messages as it takes."""
    items = await claims.records(turn.session, turn.member.id) if turn.member is not None else []
    if not items:
        turn.say("status.none", markup=main_menu(turn))
        return
    after = After(
        await fulfilment.of_claims(turn.session, [r.claim.id for r in items]),
        await fulfilment.draw_wins(turn.session, {r.promotion.id for r in items if r.promotion.lucky_draw}),
    )
    entries = [(render_record(turn, index, record, after), record) for index, record in enumerate(items, start=1)]
    chunks = _chunks(turn, entries)
    first = 1
    for chunk in chunks:
        last = first + len(chunk) - 1
        if len(chunks) == 1:
            header = turn.t("status.title", count=len(items))
        else:
            header = turn.t("status.title_part", first=first, last=last, count=len(items))
        body = "\n\n".join(text for text, _ in chunk)
        turn.say_text(f"{header}\n\n{body}", markup=_again_buttons(turn, [record for _, record in chunk]))
        first = last + 1


def setup(router: Router) -> None:
    """/status and the menu button."""
    router.commands["status"] = show_status
