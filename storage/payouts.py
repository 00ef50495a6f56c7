"""The payout file for finance (`export payouts`) and the payments read back (`import payouts`).

Export: one line per approved claim of a cashback promotion, oldest approval first:

| column | what |
| --- | --- |
| order_id, promotion | the claim and its promotion's slug |
| approved_on, pay_by | the approval day and the latest payment day promised (30 working days) |
| first_name, last_name, email, phone, country, telegram_user_id | the customer |
| amount, currency | what to pay |
| method | iban, account (number + BIC) or ewallet |
| account_holder, iban, account_number, bic, wallet_provider, wallet_id | the payout details, in full (only here) |
| invoice_numbers, serials, models | the claim's products, joined with a vertical bar |
| status | approved (to pay) or paid |
| paid_on, payment_reference | once paid |

Import: a CSV with the columns `order_id`, `paid_on` (YYYY-MM-DD, not in the future) and
`reference` (the payment's reference, at most 64 characters); other columns are ignored, so the
export with the two columns filled in can be sent back. Each new payment marks the claim paid and
queues one message to its customer; a row already applied (same date and reference) is unchanged,
a row that would change an earlier payment is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, batches, fulfilment, outbox
from storage.export import promotion_id
from storage.models import ClaimEvent, ClaimStatus, FulfilmentState, PrizeKind, Promotion
from storage.texts import promotion_name

COLUMNS = (
    "order_id",
    "promotion",
    "approved_on",
    "pay_by",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "telegram_user_id",
    "amount",
    "currency",
    "method",
    "account_holder",
    "iban",
    "account_number",
    "bic",
    "wallet_provider",
    "wallet_id",
    "invoice_numbers",
    "serials",
    "models",
    "status",
    "paid_on",
    "payment_reference",
)
REQUIRED = ("order_id", "paid_on", "reference")


async def export_rows(session: AsyncSession, promotion_slug: str) -> list[dict[str, str]]:
    """The payout file's rows; LookupError for an unknown slug, ValueError when it pays no cash."""
    pid = await promotion_id(session, promotion_slug)
    found = await session.get(Promotion, pid)
    if found is None or found.prize_kind != PrizeKind.CASHBACK:
        raise ValueError(f"{promotion_slug} is not a cashback promotion")
    facts = await batches.approved_claims(session, pid)
    rows = await fulfilment.of_claims(session, [f.claim.id for f in facts])
    result = []
    for fact in facts:
        claim, promotion, member = fact.claim, fact.promotion, fact.member
        row = rows.get((claim.id, fulfilment.PRIZE))
        payout = (row.payout if row else None) or {}
        result.append(
            {
                "order_id": claim.order_id,
                "promotion": promotion.slug,
                "approved_on": batches.iso(claim.decided_at.date() if claim.decided_at else None),
                "pay_by": batches.iso(fulfilment.fulfilment_due(claim, promotion)),
                "first_name": member.first_name or "",
                "last_name": member.last_name or "",
                "email": member.email or "",
                "phone": member.phone or "",
                "country": member.country or "",
                "telegram_user_id": str(member.telegram_user_id),
                "amount": str(promotion.cashback_amount or ""),
                "currency": promotion.currency or "",
                "method": str(payout.get("method", "")),
                "account_holder": str(payout.get("holder", "")),
                "iban": str(payout.get("iban", "")),
                "account_number": str(payout.get("account", "")),
                "bic": str(payout.get("bic", "")),
                "wallet_provider": str(payout.get("provider", "")),
                "wallet_id": str(payout.get("wallet", "")),
                "invoice_numbers": fact.joined(lambda p, _: p.invoice_number),
                "serials": fact.joined(lambda p, _: p.serial),
                "models": fact.joined(lambda _, c: c.model),
                "status": str(row.state if row else FulfilmentState.APPROVED),
                "paid_on": batches.iso(row.paid_on if row else None),
                "payment_reference": (row.payment_reference if row else None) or "",
            }
        )
    return result


async def write_csv(session: AsyncSession, out: TextIO, promotion_slug: str) -> int:
    return batches.write_csv(out, COLUMNS, await export_rows(session, promotion_slug))


async def import_csv(session: AsyncSession, text: str, now: datetime, actor: int | None) -> batches.ImportReport:
    """Payments read back; each row applied whole or not at all (see the module docstring)."""

    async def handle(s: AsyncSession, row: dict[str, str], known: batches.Known) -> str | None:
        claim, promotion, member = batches.claim_for(known, row)
        if promotion.prize_kind != PrizeKind.CASHBACK:
            raise batches.RowProblem("order_id", f"{claim.order_id} is not a cashback claim")
        if claim.status != ClaimStatus.APPROVED:
            raise batches.RowProblem("order_id", f"{claim.order_id} is not approved (status {claim.status})")
        paid_on = batches.parse_day(row, "paid_on", now.date(), required=True)
        assert paid_on is not None
        reference = batches.text_field(row, "reference", fulfilment.MAX_REFERENCE)
        if claim.decided_at is not None and paid_on < claim.decided_at.date():
            raise batches.RowProblem("paid_on", f"{paid_on} is before the approval ({claim.decided_at.date()})")
        existing = known.fulfilments.get((claim.id, fulfilment.PRIZE))
        if existing is not None and existing.state == FulfilmentState.PAID:
            if existing.paid_on == paid_on and existing.payment_reference == reference:
                return None
            raise batches.RowProblem(
                "reference", f"{claim.order_id} was already paid on {existing.paid_on} ({existing.payment_reference})"
            )
        # Every check is done: from here on the row is written.
        record = existing or batches.fulfilment_of(s, known, claim, fulfilment.PRIZE, now)
        record.state, record.paid_on, record.payment_reference, record.updated_at = (
            FulfilmentState.PAID,
            paid_on,
            reference,
            now,
        )
        s.add(
            ClaimEvent(
                claim_id=claim.id,
                at=now,
                kind="paid",
                actor_user_id=actor,
                details={"paid_on": paid_on.isoformat(), "reference": reference},
            )
        )
        await audit.record(
            s,
            now=now,
            actor_user_id=actor,
            action="claim.paid",
            subject=claim.order_id,
            details={"reference": reference},
        )
        if member.deleted_at is None:
            values = {
                "promotion": promotion_name(promotion, member.language),
                "order_id": claim.order_id,
                "amount": {"$money": [str(promotion.cashback_amount), promotion.currency]},
                "paid_on": {"$date": paid_on.isoformat()},
                "reference": reference,
            }
            await outbox.enqueue(
                s,
                chat_id=member.chat_id,
                kind="fulfilment",
                key="fulfilment.paid",
                language=member.language,
                values=values,
                now=now,
            )
        return claim.order_id

    return await batches.apply_rows(session, text, REQUIRED, handle)
