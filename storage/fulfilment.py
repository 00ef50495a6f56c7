"""After the approval: the prize kind's statuses, promises, payout details and lucky-draw addresses.

Decisions, written down:

* **Statuses follow the prize.** A digital code is done at approval (the code is in the message).
  A cashback is *approved* → *paid* (date and the payment's reference); a physical prize is
  *approved* → *shipped* (carrier, tracking number, a tracking link where the carrier has a
  known URL pattern) → *delivered* (when logistics report it). The state lives in `Fulfilment`
  (one row per claim and purpose: "prize", or "draw" for a lucky-draw win of the claim).
* **Two promises.** The review promise is the promotion's `processing_days` (the guide's 7-14
  working days by default, for every kind). The fulfilment promise counts from the approval:
  cashback paid within `CASHBACK_WORKING_DAYS` working days, a physical prize delivered within
  `PHYSICAL_DELIVERY_WEEKS` weeks.
* **Payout details** are asked at redemption only when the promotion pays cash: an IBAN
  (validated by python-stdnum: length per country, format, check digits), another bank account
  (its number and the bank's BIC/SWIFT code, the BIC validated by python-stdnum), or an e-wallet
  (provider and id). The account holder is the profile's name. They are masked everywhere but the
  payout export, and erased by /deleteme and `PAYOUT_RETENTION_DAYS` after the payment
  (`expire_payouts`, run by the bot's daily retention).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum import numdb
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

from storage import audit, outbox
from storage.draw.state import who
from storage.models import Claim, ClaimStatus, Draw, Fulfilment, FulfilmentState, Member, PrizeKind, Promotion
from storage.promotions import PHYSICAL_DELIVERY_WEEKS as PHYSICAL_DELIVERY_WEEKS  # the promises, once
from storage.review import CASHBACK_WORKING_DAYS as CASHBACK_WORKING_DAYS
from storage.texts import promotion_name
from storage.workdays import add_working_days

PRIZE, DRAW = "prize", "draw"
MAX_REFERENCE = 64

# Carriers whose tracking page takes the number in its URL ({number} is URL-quoted).
TRACKING_URLS = {
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
}


class PayoutMethod(enum.StrEnum):
    IBAN = "iban"
    ACCOUNT = "account"  # a bank account number with the bank's BIC (countries without IBAN)
    EWALLET = "ewallet"


class PayoutProblem(enum.StrEnum):
    """Why typed payout details were refused; each has its own message for the customer."""

    IBAN_LENGTH = "iban_length"
    IBAN_CHECKSUM = "iban_checksum"
    IBAN_COUNTRY = "iban_country"
    IBAN_FORMAT = "iban_format"
    ACCOUNT_FORMAT = "account_format"
    BIC = "bic"
    WALLET_FORMAT = "wallet_format"


@dataclass(frozen=True)
class PayoutCheck:
    payout: dict[str, str] | None
    problem: PayoutProblem | None = None
    expected_length: int | None = None  # IBAN_LENGTH: how long an IBAN of that country is
    country: str | None = None  # the IBAN's country code, for the messages


IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}")


def _iban(text: str, holder: str) -> PayoutCheck:
    """Shape, country, the country's length, then the check digits and the structure (python-stdnum)."""
    number = stdnum_iban.compact(text)
    if not IBAN_SHAPE.fullmatch(number):
        return PayoutCheck(None, PayoutProblem.IBAN_FORMAT)
    country = number[:2]
    info = numdb.get("iban").info(number)
    structure = info[0][1].get("bban") if info and len(info[0][0]) == 2 else None
    if not structure:
        return PayoutCheck(None, PayoutProblem.IBAN_COUNTRY, country=country)
    expected = 4 + sum(int(n) for n in re.findall(r"[0-9]+", structure))
    if len(number) != expected:
        return PayoutCheck(None, PayoutProblem.IBAN_LENGTH, expected_length=expected, country=country)
    try:
        number = stdnum_iban.validate(number)
    except InvalidChecksum:
        return PayoutCheck(None, PayoutProblem.IBAN_CHECKSUM, country=country)
    except (InvalidLength, InvalidComponent, InvalidFormat, ValidationError):
        return PayoutCheck(None, PayoutProblem.IBAN_FORMAT, country=country)
    return PayoutCheck({"method": PayoutMethod.IBAN.value, "holder": holder, "iban": number})


def holder_name(member: Member) -> str:
    return " ".join(part for part in (member.first_name, member.last_name) if part).strip()


def check_payout(method: PayoutMethod, typed: str, holder: str) -> PayoutCheck:
    """Validates what the customer typed for `method`; the payout to store, or why not."""
    text = " ".join(typed.split())
    if method is PayoutMethod.IBAN:
        return _iban(text, holder)
    if method is PayoutMethod.ACCOUNT:
        words = text.split(" ")
        if len(words) < 2:
            return PayoutCheck(None, PayoutProblem.ACCOUNT_FORMAT)
        account = "".join(words[:-1]).replace("-", "")
        if not (5 <= len(account) <= 34 and account.isalnum() and any(c.isdigit() for c in account)):
            return PayoutCheck(None, PayoutProblem.ACCOUNT_FORMAT)
        try:
            code = stdnum_bic.validate(words[-1])
        except ValidationError:
            return PayoutCheck(None, PayoutProblem.BIC)
        return PayoutCheck({"method": method.value, "holder": holder, "account": account.upper(), "bic": code})
    provider, _, wallet = text.partition(" ")
    if not (2 <= len(provider) <= 30 and 3 <= len(wallet) <= 64):
        return PayoutCheck(None, PayoutProblem.WALLET_FORMAT)
    return PayoutCheck({"method": method.value, "holder": holder, "provider": provider, "wallet": wallet})


def _tail(value: str, keep: int = 4) -> str:
    """The last few characters only (at most half of a short value)."""
    shown = min(keep, len(value) // 2)
    return "••••" + (value[-shown:] if shown else "")


def mask(payout: dict[str, Any] | None) -> str:
    """The payout details as staff and the customer see them: never the whole number."""
    if not payout:
        return ""
    method = payout.get("method")
    if method == PayoutMethod.IBAN:
        number = str(payout.get("iban", ""))
        return f"IBAN {number[:4]} {_tail(number)}"
    if method == PayoutMethod.ACCOUNT:
        return f"{_tail(str(payout.get('account', '')))} ({payout.get('bic', '')})"
    return f"{payout.get('provider', '')} {_tail(str(payout.get('wallet', '')))}"


def tracking_url(carrier: str | None, number: str | None) -> str | None:
    """The carrier's tracking page for the number, where its URL pattern is known."""
    pattern = TRACKING_URLS.get((carrier or "").strip().lower())
    return pattern.format(number=quote(number.strip(), safe="")) if pattern and number else None


# ---------------------------------------------------------------- promises


def fulfilment_due(claim: Claim, promotion: Promotion) -> date | None:
    """When the approved prize is paid or delivered at the latest; None before the approval."""
    if claim.status != ClaimStatus.APPROVED or claim.decided_at is None:
        return None
    if promotion.prize_kind == PrizeKind.CASHBACK:
        return add_working_days(claim.decided_at.date(), CASHBACK_WORKING_DAYS)
    if promotion.prize_kind == PrizeKind.PHYSICAL:
        return claim.decided_at.date() + timedelta(weeks=PHYSICAL_DELIVERY_WEEKS[1])
    return None


async def open_promises(session: AsyncSession) -> list[tuple[Claim, Promotion, date]]:
    """Approved cashback and physical claims not yet paid or shipped, with the promised day."""
    rows = (
        await session.execute(
            select(Claim, Promotion)
            .join(Promotion, Promotion.id == Claim.promotion_id)
            .where(
                Claim.status == ClaimStatus.APPROVED,
                Promotion.prize_kind.in_((PrizeKind.CASHBACK, PrizeKind.PHYSICAL)),
            )
            .order_by(Claim.decided_at, Claim.id)
        )
    ).tuples()
    found = [(claim, promotion) for claim, promotion in rows]
    done = await of_claims(session, [claim.id for claim, _ in found])
    result = []
    for claim, promotion in found:
        row = done.get((claim.id, PRIZE))
        due = fulfilment_due(claim, promotion)
        if due is not None and (row is None or row.state == FulfilmentState.APPROVED):
            result.append((claim, promotion, due))
    return result


async def queue_digest(session: AsyncSession, now: datetime, staff_chat_id: int, language: str) -> bool:
    """With the daily review digest: approved prizes still to pay or ship, those whose fulfilment
    promise ends within 48 hours and those past it (the review digest counts the review promise)."""
    waiting = await open_promises(session)
    if not waiting:
        return False
    soon, late = [], []
    for claim, promotion, due in waiting:
        end = datetime.combine(due, datetime.max.time(), tzinfo=now.tzinfo)
        if end < now:
            late.append((claim, promotion, due))
        elif end - now <= timedelta(hours=48):
            soon.append((claim, promotion, due))

    def lines(chosen: list[tuple[Claim, Promotion, date]]) -> dict[str, Any]:
        items = [
            {
                "order_id": claim.order_id,
                "kind": {"$key": f"fulfilment.digest.kind_{promotion.prize_kind}"},
                "promised": {"$date": due.isoformat()},
            }
            for claim, promotion, due in chosen
        ]
        return {"$lines": {"key": "fulfilment.digest.line", "items": items, "empty": "fulfilment.digest.none"}}

    values = {"open": len(waiting), "due_soon": lines(soon), "overdue": lines(late)}
    await outbox.enqueue(
        session,
        chat_id=staff_chat_id,
        kind="digest",
        key="fulfilment.digest.text",
        language=language,
        values=values,
        now=now,
    )
    return True


# ---------------------------------------------------------------- rows


async def get(session: AsyncSession, claim_id: int, purpose: str = PRIZE) -> Fulfilment | None:
    row: Fulfilment | None = await session.scalar(
        select(Fulfilment).where(Fulfilment.claim_id == claim_id, Fulfilment.purpose == purpose)
    )
    return row


async def get_or_create(session: AsyncSession, claim_id: int, now: datetime, purpose: str = PRIZE) -> Fulfilment:
    row = await get(session, claim_id, purpose)
    if row is None:
        row = Fulfilment(claim_id=claim_id, purpose=purpose, state=FulfilmentState.APPROVED, updated_at=now)
        session.add(row)
        await session.flush()
    return row


async def of_claims(session: AsyncSession, claim_ids: list[int]) -> dict[tuple[int, str], Fulfilment]:
    if not claim_ids:
        return {}
    rows = await session.scalars(select(Fulfilment).where(Fulfilment.claim_id.in_(claim_ids)))
    return {(row.claim_id, row.purpose): row for row in rows}


async def save_payout(session: AsyncSession, claim: Claim, payout: dict[str, str], actor: int, now: datetime) -> None:
    """The payout details given at redemption, stored with the claim (the audit keeps no number)."""
    row = await get_or_create(session, claim.id, now)
    row.payout, row.updated_at = dict(payout), now
    details = {"method": payout.get("method")}
    await audit.record(
        session, now=now, actor_user_id=actor, action="payout.details_given", subject=claim.order_id, details=details
    )


def state_of(claim: Claim, promotion: Promotion, row: Fulfilment | None) -> FulfilmentState | None:
    """The prize's state after approval; None for claims not approved or with a digital code."""
    if claim.status != ClaimStatus.APPROVED or promotion.prize_kind == PrizeKind.DIGITAL_CODE:
        return None
    return FulfilmentState(row.state) if row is not None else FulfilmentState.APPROVED


# ---------------------------------------------------------------- lucky-draw wins


async def draw_wins(session: AsyncSession, promotion_ids: set[int]) -> dict[str, str]:
    """Order ID → its lucky-draw state ("waiting", "answered", "lapsed") for every claim that won
    (a drawn winner or a called-in reserve) in a draw of these promotions."""
    if not promotion_ids:
        return {}
    found: dict[str, str] = {}
    draws = await session.scalars(
        select(Draw).where(Draw.promotion_id.in_(promotion_ids), Draw.drawn_at.is_not(None)).order_by(Draw.id)
    )
    for row in draws:
        if row.answers is None:
            found.update({str(order_id): "answered" for order_id in row.winners or []})
            continue
        for order_id, entry in row.answers.items():
            if entry.get("state") != "skipped":
                found[str(order_id)] = str(entry.get("state"))
    return found


async def save_draw_address(
    session: AsyncSession, claim: Claim, address: dict[str, str], member: Member, now: datetime
) -> Fulfilment:
    """A lucky-draw winner's shipping address, for the shipments export and the staff."""
    row = await get_or_create(session, claim.id, now, DRAW)
    row.address, row.updated_at = dict(address), now
    await audit.record(
        session,
        now=now,
        actor_user_id=member.telegram_user_id,
        action="draw.address_given",
        subject=claim.order_id,
        details={},
    )
    return row


async def announce_draw_address(
    session: AsyncSession,
    claim: Claim,
    member: Member,
    address: dict[str, str],
    staff_chat_id: int | None,
    staff_language: str,
    now: datetime,
) -> None:
    """Staff hear where the lucky-draw prize goes (and find it in the shipment file)."""
    promotion = await session.get(Promotion, claim.promotion_id)
    if staff_chat_id is None or promotion is None:
        return
    values: dict[str, Any] = {
        "promotion": promotion_name(promotion, staff_language),
        "slug": promotion.slug,
        "order_id": claim.order_id,
        "member": who(member),
        **{key: address.get(key, "") for key in ("name", "street", "city", "postcode", "country", "phone")},
    }
    await outbox.enqueue(
        session,
        chat_id=staff_chat_id,
        kind="staff_notice",
        key="fulfilment.address.staff_draw",
        language=staff_language,
        values=values,
        now=now,
    )


async def last_address(session: AsyncSession, member_id: int) -> dict[str, str] | None:
    """The member's latest shipping address (of a claim or a lucky-draw prize), to prefill the next."""
    # A JSON column set to None may hold JSON null rather than SQL NULL: empty ones are skipped here.
    claim_addresses = await session.scalars(
        select(Claim.shipping_address).where(Claim.member_id == member_id).order_by(Claim.submitted_at.desc())
    )
    draw_addresses = await session.scalars(
        select(Fulfilment.address)
        .join(Claim, Claim.id == Fulfilment.claim_id)
        .where(Claim.member_id == member_id)
        .order_by(Fulfilment.updated_at.desc())
    )
    chosen = next((a for a in draw_addresses if a), None) or next((a for a in claim_addresses if a), None)
    return {str(k): str(v) for k, v in chosen.items()} if chosen else None


# ---------------------------------------------------------------- privacy


async def erase_for_claims(session: AsyncSession, claim_ids: list[int], now: datetime) -> int:
    """/deleteme: payout details and lucky-draw addresses of these claims are erased."""
    erased = 0
    for row in (await of_claims(session, claim_ids)).values():
        if row.payout is not None or row.address is not None:
            row.payout, row.address, row.payout_erased_at, row.updated_at = None, None, now, now
            erased += 1
    return erased


async def expire_payouts(session: AsyncSession, now: datetime, days: int) -> list[str]:
    """Payout details of cashback paid more than `days` days ago are erased; returns the order IDs."""
    cutoff = (now - timedelta(days=days)).date()
    found = (
        await session.execute(
            select(Fulfilment, Claim.order_id)
            .join(Claim, Claim.id == Fulfilment.claim_id)
            .where(
                Fulfilment.payout_erased_at.is_(None),
                Fulfilment.state == FulfilmentState.PAID,
                Fulfilment.paid_on < cutoff,
            )
        )
    ).tuples()
    rows = [(row, order_id) for row, order_id in found if row.payout]
    for row, _ in rows:
        row.payout, row.payout_erased_at, row.updated_at = None, now, now
    order_ids = [order_id for _, order_id in rows]
    if order_ids:
        await audit.record(
            session,
            now=now,
            actor_user_id=None,
            action="retention.payouts_erased",
            subject=None,
            details={"order_ids": order_ids, "days": days},
        )
    return order_ids
