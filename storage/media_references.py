"""Which stored photos the database still mentions, for the sweep of orphaned media files.

A photo is stored (storage.media.MediaStore.save) inside an update's unit of work, before the row
that points at it is committed; a process killed in between leaves a file nothing mentions.
What counts as a mention here is deliberately wide, so the sweep never takes a file someone can
still reach: a product's invoice, a claim's S/N photo, a fingerprint's path (the customer's
earlier photos in /mydata), and a path anywhere inside a journey's answers (drafts), an audit
entry (replaced invoices are kept on disk and found through it) or a message of the outbox.
"""

from __future__ import annotations

import re

from sqlalchemy import Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, ClaimItem, ConversationState, ImageFingerprint, OutboxMessage, RegisteredProduct

__all__ = ["MEDIA_PATH_IN_TEXT", "referenced_paths"]

MEDIA_PATH_IN_TEXT = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.jpg")  # storage.media's layout

_PATH_COLUMNS = (RegisteredProduct.invoice_path, ClaimItem.sn_photo_path, ImageFingerprint.path)
_JSON_COLUMNS = (ConversationState.data, AuditEntry.details, OutboxMessage.payload)


async def referenced_paths(session: AsyncSession) -> set[str]:
    """Every media path (relative, "ab/cd/<sha256>.jpg") that a committed row mentions."""
    paths: set[str] = set()
    for column in _PATH_COLUMNS:
        paths.update(await session.scalars(select(column).where(column.is_not(None)).distinct()))
    for json_column in _JSON_COLUMNS:
        text = cast(json_column, Text)
        for document in await session.scalars(select(text).where(text.contains(".jpg", autoescape=True))):
            paths.update(MEDIA_PATH_IN_TEXT.findall(document or ""))
    return paths
