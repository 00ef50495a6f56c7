"""The shipment file for logistics (`export shipments`) and the tracking read back (`import shipments`).

Export: one line per parcel to send for a promotion — each approved claim of a physical-prize
promotion (purpose `prize`) and each lucky-draw prize a winner claimed with an address (purpose
`draw`, any prize kind) — oldest approval first:

| column | what |
| --- | --- |
| order_id, purpose, promotion, prize | the claim, what the parcel is for, the promotion's slug and prize (English) |
| approved_on, deliver_by | the approval (or the winner's answer) and the latest delivery day (12 weeks) |
| name, street, city, postcode, country, phone | the shipping address as the customer confirmed it |
| email, telegram_user_id | the customer |
| invoice_numbers, serials, models | the claim's products, joined with a vertical bar |
| status | approved (to ship), shipped or delivered |
| carrier, tracking_number, tracking_url, shipped_on, delivered_on | once shipped |

Import: a CSV with `order_id`, `carrier`, `tracking_number`, and optionally `shipped_on` (default
today), `delivered_on` and `purpose` (`prize`, the default, or `draw`); other columns are ignored,
so the export with those filled in can be sent back. A new shipment marks the parcel shipped and
queues one tracking message to its customer; a `delivered_on` on a shipped parcel marks it
delivered, with one message; the same row again is unchanged; another tracking number for a
parcel already shipped is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, batches, fulfilment, outbox
from storage.export import promotion_id
from storage.models import Claim, ClaimEvent, ClaimStatus, Fulfilment, FulfilmentState, Member, PrizeKind, Promotion
from storage.texts import in_language, promotion_name

COLUMNS = (
    "order_id",
    "purpose",
    "promotion",
    "prize",
    "approved_on",
    "deliver_by",
    "name",
    "street",
    "city",
    "postcode",
    "country",
    "phone",
    "email",
    "telegram_user_id",
    "invoice_numbers",
    "serials",
    "models",
    "status",
    "carrier",
    "tracking_number",
    "tracking_url",
    "shipped_on",
    "delivered_on",
)
REQUIRED = ("order_id", "carrier", "tracking_number")
ADDRESS = ("name", "street", "city", "postcode", "country", "phone")
MAX_CARRIER, MAX_TRACKING = 40, 64


def _parcel(fact: batches.ClaimFacts, purpose: str, row: Fulfilment | None, address: dict[str, Any]) -> dict[str, str]:
    claim, promotion, member = fact.claim, fact.promotion, fact.member
    if purpose == fulfilment.DRAW:
        prize, since = in_language(promotion.draw_prize, "en"), row.updated_at.date() if row else None
    else:
        prize = in_language(promotion.prize_description, "en")
        since = claim.decided_at.date() if claim.decided_at else None
    deliver_by = since + timedelta(weeks=fulfilment.PHYSICAL_DELIVERY_WEEKS[1]) if since else None
    return {
        "order_id": claim.order_id,
        "purpose": purpose,
        "promotion": promotion.slug,
        "prize": prize,
        "approved_on": batches.iso(since),
        "deliver_by": batches.iso(deliver_by),
        **{key: str(address.get(key, "")) for key in ADDRESS},
        "email": member.email or "",
        "telegram_user_id": str(member.telegram_user_id),
        "invoice_numbers": fact.joined(lambda p, _: p.invoice_number),
        "serials": fact.joined(lambda p, _: p.serial),
        "models": fact.joined(lambda _, c: c.model),
        "status": str(row.state if row else FulfilmentState.APPROVED),
        "carrier": (row.carrier if row else None) or "",
        "tracking_number": (row.tracking_number if row else None) or "",
        "tracking_url": (fulfilment.tracking_url(row.carrier, row.tracking_number) if row else None) or "",
        "shipped_on": batches.iso(row.shipped_on if row else None),
        "delivered_on": batches.iso(row.delivered_on if row else None),
    }


async def export_rows(session: AsyncSession, promotion_slug: str) -> list[dict[str, str]]:
    """The shipment file's rows; LookupError for an unknown slug."""
    pid = await promotion_id(session, promotion_slug)
    facts = await batches.approved_claims(session, pid)
    rows = await fulfilment.of_claims(session, [f.claim.id for f in facts])
    result = []
    for fact in facts:
        if fact.promotion.prize_kind == PrizeKind.PHYSICAL:
            result.append(
                _parcel(
                    fact,
                    fulfilment.PRIZE,
                    rows.get((fact.claim.id, fulfilment.PRIZE)),
                    fact.claim.shipping_address or {},
                )
            )
    for fact in facts:
        won = rows.get((fact.claim.id, fulfilment.DRAW))
        if won is not None and won.address:
            result.append(_parcel(fact, fulfilment.DRAW, won, won.address))
    return result


async def write_csv(session: AsyncSession, out: TextIO, promotion_slug: str) -> int:
    return batches.write_csv(out, COLUMNS, await export_rows(session, promotion_slug))


async def _announce(
    session: AsyncSession, key: str, claim: Claim, promotion: Promotion, member: Member, now: datetime, **values: Any
) -> None:
    if member.deleted_at is not None:
        return
    await outbox.enqueue(
        session,
        chat_id=member.chat_id,
        kind="fulfilment",
        key=key,
        language=member.language,
        values={"promotion": promotion_name(promotion, member.language), "order_id": claim.order_id, **values},
        now=now,
    )


def _checked_parcel(known: batches.Known, claim: Claim, promotion: Promotion, purpose: str) -> Fulfilment | None:
    """The parcel's row as it is (None: a prize parcel not recorded yet), or why it has none."""
    if purpose == fulfilment.DRAW:
        row = known.fulfilments.get((claim.id, fulfilment.DRAW))
        if row is None or not row.address:
            raise batches.RowProblem("purpose", f"{claim.order_id} has no lucky-draw prize claimed with an address")
        return row
    if promotion.prize_kind != PrizeKind.PHYSICAL:
        raise batches.RowProblem("order_id", f"{claim.order_id} is not a physical-prize claim")
    if claim.status != ClaimStatus.APPROVED:
        raise batches.RowProblem("order_id", f"{claim.order_id} is not approved (status {claim.status})")
    return known.fulfilments.get((claim.id, fulfilment.PRIZE))


def _event(session: AsyncSession, claim: Claim, kind: str, actor: int | None, now: datetime, purpose: str) -> None:
    session.add(ClaimEvent(claim_id=claim.id, at=now, kind=kind, actor_user_id=actor, details={"purpose": purpose}))


async def import_csv(session: AsyncSession, text: str, now: datetime, actor: int | None) -> batches.ImportReport:
    """Tracking read back; each row applied whole or not at all (see the module docstring)."""

    async def handle(s: AsyncSession, row: dict[str, str], known: batches.Known) -> str | None:
        claim, promotion, member = batches.claim_for(known, row)
        purpose = (row.get("purpose") or fulfilment.PRIZE).lower()
        if purpose not in (fulfilment.PRIZE, fulfilment.DRAW):
            raise batches.RowProblem("purpose", f"must be prize or draw, got {purpose!r}")
        carrier = batches.text_field(row, "carrier", MAX_CARRIER)
        number = batches.text_field(row, "tracking_number", MAX_TRACKING).replace(" ", "")
        given_shipped = batches.parse_day(row, "shipped_on", now.date(), required=False)
        delivered_on = batches.parse_day(row, "delivered_on", now.date(), required=False)
        existing = _checked_parcel(known, claim, promotion, purpose)
        state = FulfilmentState(existing.state) if existing else FulfilmentState.APPROVED
        # Shipped: as the file says, else as recorded, else the delivery day or today.
        shipped_on = given_shipped or (existing.shipped_on if existing else None) or delivered_on or now.date()
        if delivered_on is not None and delivered_on < shipped_on:
            raise batches.RowProblem("delivered_on", f"{delivered_on} is before shipped_on ({shipped_on})")
        if existing is not None and state != FulfilmentState.APPROVED:
            if (existing.carrier or "").lower() != carrier.lower() or existing.tracking_number != number:
                raise batches.RowProblem(
                    "tracking_number",
                    f"{claim.order_id} was already shipped with {existing.carrier} {existing.tracking_number}",
                )
        # Every check is done: from here on the row is written.
        record = existing or batches.fulfilment_of(s, known, claim, purpose, now)
        changed = False
        if state == FulfilmentState.APPROVED:
            record.state, record.carrier, record.tracking_number, record.shipped_on = (
                FulfilmentState.SHIPPED,
                carrier,
                number,
                shipped_on,
            )
            link = fulfilment.tracking_url(carrier, number)
            key = "fulfilment.shipped_link" if link else "fulfilment.shipped"
            await _announce(s, key, claim, promotion, member, now, carrier=carrier, tracking=number, link=link or "")
            _event(s, claim, "shipped", actor, now, purpose)
            changed = True
        if delivered_on is not None and record.state == FulfilmentState.SHIPPED:
            record.state, record.delivered_on = FulfilmentState.DELIVERED, delivered_on
            day = {"$date": delivered_on.isoformat()}
            await _announce(s, "fulfilment.delivered", claim, promotion, member, now, day=day)
            _event(s, claim, "delivered", actor, now, purpose)
            changed = True
        if not changed:
            return None
        record.updated_at = now
        details = {"purpose": purpose, "state": record.state, "carrier": carrier}
        await audit.record(
            s, now=now, actor_user_id=actor, action="claim.shipment", subject=claim.order_id, details=details
        )
        return claim.order_id

    return await batches.apply_rows(session, text, REQUIRED, handle)


async def draw_parcels(session: AsyncSession, claim_ids: list[int]) -> dict[int, Fulfilment]:
    """The lucky-draw parcels of these claims (for cards and /status)."""
    if not claim_ids:
        return {}
    rows = await session.scalars(
        select(Fulfilment).where(Fulfilment.claim_id.in_(claim_ids), Fulfilment.purpose == fulfilment.DRAW)
    )
    return {row.claim_id: row for row in rows}
