"""Retention: the photos of claims decided long ago are deleted; hashes stay for the fraud checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import Claim, ClaimItem, RegisteredProduct
from storage.privacy.files import DECIDED, Files, delete_unreferenced


@dataclass
class RetentionResult:
    sn_photos: int = 0  # claim items whose S/N photo path was cleared
    invoices: int = 0  # products whose invoice path was cleared
    files_deleted: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.sn_photos + self.invoices


async def expire_photos(
    session: AsyncSession, *, now: datetime, days: int, files: Files, limit: int = 500
) -> RetentionResult:
    """Deletes the photos of claims decided (approved or finally rejected) more than `days` ago:
    their S/N photos, and the invoices of products whose every claim is such. At most `limit`
    rows of each kind per call (call again while `rows` is not 0). `days <= 0` keeps everything."""
    result = RetentionResult()
    if days <= 0:
        return result
    cutoff = now - timedelta(days=days)
    old = (Claim.status.in_(DECIDED), Claim.decided_at.is_not(None), Claim.decided_at <= cutoff)
    items = (
        await session.execute(
            select(ClaimItem, Claim.order_id)
            .join(Claim, Claim.id == ClaimItem.claim_id)
            .where(ClaimItem.sn_photo_path.is_not(None), *old)
            .order_by(ClaimItem.id)
            .limit(limit)
        )
    ).all()
    paths: set[str] = set()
    orders: set[str] = set()
    for item, order_id in items:
        assert item.sn_photo_path is not None
        paths.add(item.sn_photo_path)
        orders.add(order_id)
        item.sn_photo_path = None
    result.sn_photos = len(items)

    in_old_claim = exists().where(
        ClaimItem.registered_product_id == RegisteredProduct.id, ClaimItem.claim_id == Claim.id, *old
    )
    in_other_claim = exists().where(
        ClaimItem.registered_product_id == RegisteredProduct.id,
        ClaimItem.claim_id == Claim.id,
        or_(Claim.status.not_in(DECIDED), Claim.decided_at.is_(None), Claim.decided_at > cutoff),
    )
    products = (
        await session.scalars(
            select(RegisteredProduct)
            .where(RegisteredProduct.invoice_path.is_not(None), in_old_claim, ~in_other_claim)
            .order_by(RegisteredProduct.id)
            .limit(limit)
        )
    ).all()
    for product in products:
        assert product.invoice_path is not None
        paths.add(product.invoice_path)
        product.invoice_path = None
    result.invoices = len(products)
    if not result.rows:
        return result
    result.files_deleted = await delete_unreferenced(session, paths, files)
    result.order_ids = sorted(orders)
    await audit.record(
        session,
        now=now,
        actor_user_id=None,
        action="retention.photos_deleted",
        subject=f"{days}d",
        details={
            "sn_photos": result.sn_photos,
            "invoices": result.invoices,
            "files_deleted": len(result.files_deleted),
            "order_ids": result.order_ids,
            "product_ids": [p.id for p in products],
        },
    )
    return result
