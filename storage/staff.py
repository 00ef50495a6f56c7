"""Who is staff: the ids in the settings plus those an admin added in the chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import StaffMember


async def is_staff(session: AsyncSession, user_id: int, configured: frozenset[int]) -> bool:
    return user_id in configured or await session.get(StaffMember, user_id) is not None


async def add(session: AsyncSession, user_id: int, username: str | None, admin_id: int, now: datetime) -> bool:
    """Adds a staff member; False when they already were."""
    if await session.get(StaffMember, user_id) is not None:
        return False
    session.add(StaffMember(telegram_user_id=user_id, username=username, added_by=admin_id, added_at=now))
    await audit.record(
        session,
        now=now,
        actor_user_id=admin_id,
        action="staff.added",
        subject=str(user_id),
        details={"username": username},
    )
    return True


async def remove(session: AsyncSession, user_id: int, admin_id: int, now: datetime) -> bool:
    """Removes a staff member added in the chat; False when there was none."""
    member = await session.get(StaffMember, user_id)
    if member is None:
        return False
    await session.delete(member)
    await audit.record(session, now=now, actor_user_id=admin_id, action="staff.removed", subject=str(user_id))
    return True


async def listed(session: AsyncSession) -> list[StaffMember]:
    return list((await session.scalars(select(StaffMember).order_by(StaffMember.added_at))).all())
