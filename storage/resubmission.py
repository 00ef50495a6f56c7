"""Redeeming again: a claim staff sent back for missing information goes into review once more,
same order id, with new S/N photos, invoices or lucky-draw answer. Apart from storage.claims
because it changes an existing claim rather than creating one; it reuses the claim's helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, claims, products
from storage.models import Claim, ClaimEvent, ClaimStatus, Member


@dataclass(frozen=True)
class NewInvoice:
    path: str
    sha256: str
    phash: int | None


async def resubmit(
    session: AsyncSession,
    member: Member,
    order_id: str,
    photos: dict[int, claims.ItemDraft],
    lucky_draw_opt_in: bool | None,
    now: datetime,
    review_chat_id: int | None = None,
    *,
    invoices: dict[int, NewInvoice] | None = None,
) -> Claim:
    """Puts a claim that staff sent back (missing information) into review again, same order id.

    `photos` maps registered product id → the new S/N photo taken again;
    invoices are replaced on the product itself. History of both attempts stays in claim_events.
    """
    claim = await claims.claim_of_member(session, member.id, order_id)
    if claim is None or claim.status != ClaimStatus.MISSING_INFO:
        raise claims.ClaimRefused(claims.Refusal.NOT_FIXABLE)
    claimed = {item.registered_product_id for item in claim.items}
    for product_id, invoice in (invoices or {}).items():
        if product_id in claimed:  # only the claim's own products
            await products.replace_invoice(
                session,
                member_id=member.id,
                product_id=product_id,
                invoice_path=invoice.path,
                invoice_sha256=invoice.sha256,
                invoice_phash=invoice.phash,
                now=now,
                actor_user_id=member.telegram_user_id,
            )
    for item in claim.items:
        if (new := photos.get(item.registered_product_id)) is not None:
            item.sn_photo_path, item.sn_photo_sha256, item.label_serials = (
                new.sn_photo_path,
                new.sn_photo_sha256,
                new.label_serials,
            )
    await claims.record_fingerprints(session, member.id, claim.id, list(photos.values()), now)
    if lucky_draw_opt_in is not None:
        claim.lucky_draw_opt_in = lucky_draw_opt_in
    previous = {
        "reason": claim.reason,
        "decided_by": claim.decided_by,
        "decided_at": claim.decided_at.isoformat() if claim.decided_at else None,
    }
    claim.status, claim.attempt, claim.submitted_at = ClaimStatus.REVIEW, claim.attempt + 1, now
    claim.decided_at = claim.decided_by = claim.reason = claim.reason_code = None
    session.add(
        ClaimEvent(
            claim_id=claim.id,
            at=now,
            kind="resubmitted",
            actor_user_id=member.telegram_user_id,
            details={"previous": previous, "new_photos": sorted(photos)},
        )
    )
    await audit.record(
        session, now=now, actor_user_id=member.telegram_user_id, action="claim.resubmitted", subject=claim.order_id
    )
    await session.flush()
    await claims.queue_review_card(session, claim, review_chat_id, now)
    return claim
