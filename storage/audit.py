"""The audit log: who did what, when. Written in the transaction of the act itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    now: datetime,
    actor_user_id: int | None,
    action: str,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(AuditEntry(at=now, actor_user_id=actor_user_id, action=action, subject=subject, details=details or {}))
