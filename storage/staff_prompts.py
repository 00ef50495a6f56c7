"""Questions the bot asked staff to answer by replying (ForceReply): the reason of a rejection.

The prompt's message id in its chat names what it is about, so the reply needs no order id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.support_models import StaffPrompt

REJECT_REASON = "reject_reason"


async def remember(
    session: AsyncSession, *, chat_id: int, message_id: int, claim_id: int, attempt: int, asked_by: int, now: datetime
) -> None:
    session.add(
        StaffPrompt(
            chat_id=chat_id,
            message_id=message_id,
            kind=REJECT_REASON,
            claim_id=claim_id,
            attempt=attempt,
            asked_by=asked_by,
            created_at=now,
        )
    )


async def find(session: AsyncSession, chat_id: int, message_id: int) -> StaffPrompt | None:
    query = select(StaffPrompt).where(StaffPrompt.chat_id == chat_id, StaffPrompt.message_id == message_id)
    return (await session.scalars(query)).first()


def mark_used(prompt: StaffPrompt, now: datetime) -> None:
    prompt.used_at = now
