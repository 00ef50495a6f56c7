"""What every job of storage/privacy shares: where photos live, which rows still use a stored
file, the member's claims and products, and the tombstone that replaces an erased member's ids."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Text, cast, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    AuditEntry,
    Claim,
    ClaimItem,
    ClaimStatus,
    ConversationState,
    ImageFingerprint,
    RegisteredProduct,
)

log = logging.getLogger(__name__)

OPEN = (ClaimStatus.REVIEW, ClaimStatus.MISSING_INFO)  # withdrawn on erasure; never expired

DECIDED = (ClaimStatus.APPROVED, ClaimStatus.REJECTED)  # final: their photos expire

MEDIA_PATH = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.jpg$")  # storage.media's layout


class Files(Protocol):
    """Where photos live (storage.media.MediaStore)."""

    def read(self, relative_path: str) -> bytes: ...

    def delete(self, relative_path: str) -> None: ...


def tombstone_id(member_id: int) -> int:
    """What replaces an erased member's Telegram user and chat id: negative, so never a real user."""
    return -abs(member_id)


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def paths_in(value: Any) -> list[str]:
    """Media paths anywhere inside a JSON value (a journey's answers hold drafts' photos)."""
    if isinstance(value, str):
        return [value] if MEDIA_PATH.match(value) else []
    if isinstance(value, dict):
        return [p for v in value.values() for p in paths_in(v)]
    if isinstance(value, list):
        return [p for v in value for p in paths_in(v)]
    return []


async def claims_of(session: AsyncSession, member_id: int) -> list[Claim]:
    query = (
        select(Claim)
        .where(Claim.member_id == member_id)
        .options(selectinload(Claim.items))
        .order_by(Claim.submitted_at, Claim.id)
    )
    return list((await session.scalars(query)).all())


async def products_of(session: AsyncSession, member_id: int) -> list[RegisteredProduct]:
    query = select(RegisteredProduct).where(RegisteredProduct.member_id == member_id).order_by(RegisteredProduct.id)
    return list((await session.scalars(query)).all())


async def replaced_invoices(session: AsyncSession, product_ids: list[int]) -> list[str]:
    """Invoice files a product pointed at before a replacement (kept on disk by storage.products)."""
    if not product_ids:
        return []
    subjects = [f"registered_product:{pid}" for pid in product_ids]
    rows = (
        await session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "invoice_replaced", AuditEntry.subject.in_(subjects))
        )
    ).all()
    return [p for details in rows for p in paths_in([(details or {}).get("old_path"), (details or {}).get("new_path")])]


async def still_referenced(session: AsyncSession, path: str) -> bool:
    """True while a row still uses the stored file `path`: a product's invoice, a claim's S/N
    photo, or a journey in progress (content-addressed: the same photo may serve several
    products, claims or members). A fingerprint does not keep a file: its hashes are enough."""
    checks = (
        exists().where(RegisteredProduct.invoice_path == path),
        exists().where(ClaimItem.sn_photo_path == path),
        exists().where(cast(ConversationState.data, Text).contains(path, autoescape=True)),
    )
    for check in checks:
        if await session.scalar(select(check)):
            return True
    return False


async def delete_unreferenced(session: AsyncSession, paths: set[str], files: Files) -> list[str]:
    """Deletes each file no row uses any more (call after the rows were changed); fingerprints
    that pointed at a deleted file lose the path and keep their hashes."""
    await session.flush()
    deleted = []
    for path in sorted(paths):
        if await still_referenced(session, path):
            continue
        await session.execute(
            update(ImageFingerprint)
            .where(ImageFingerprint.path == path)
            .values(path=None)
            .execution_options(synchronize_session=False)
        )
        try:
            files.delete(path)
        except (OSError, ValueError) as exc:
            log.warning("could not delete photo %s: %s", path, exc)
            continue
        deleted.append(path)
    return deleted
