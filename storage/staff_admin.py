"""Who is staff, for `/staff add|remove|list`: resolving `@username`, and the full roster.

Staff come from three places: admins (ADMIN_USER_IDS), staff in the settings (STAFF_USER_IDS) and
staff an admin added in the chat (`storage.staff`, the `staff_members` table). Only the last can
be added or removed from the chat; the others change with the settings.

`@username` is resolved only against accounts the bot knows: a customer's `Member.username`
(saved when they agreed to the privacy policy) or a staff member added earlier with one. The
Bot API offers no lookup of an arbitrary username, so someone who never wrote to the bot is added
by their numeric user ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import staff
from storage.models import Member, StaffMember


@dataclass
class StaffEntry:
    user_id: int
    source: str  # "admin" | "settings" | "chat"
    username: str | None = None
    name: str | None = None
    added_by: int | None = None
    added_at: datetime | None = None


async def resolve(session: AsyncSession, ref: str) -> tuple[int, str | None] | None:
    """A numeric user id, or `@username` of a known member or staff member: (user id, username)."""
    ref = ref.strip()
    if ref.lstrip("-").isdigit():
        user_id = int(ref)
        if user_id <= 0:
            return None
        return user_id, await _username_of(session, user_id)
    name = ref.removeprefix("@").lower()
    if not name:
        return None
    member = await session.scalar(
        select(Member)
        .where(func.lower(Member.username) == name, Member.deleted_at.is_(None))
        .order_by(Member.id.desc())
        .limit(1)
    )
    if member is not None:
        return member.telegram_user_id, member.username
    added = await session.scalar(select(StaffMember).where(func.lower(StaffMember.username) == name).limit(1))
    if added is not None:
        return added.telegram_user_id, added.username
    return None


async def add(
    session: AsyncSession, user_id: int, username: str | None, admin_id: int, now: datetime, configured: frozenset[int]
) -> str:
    """Makes someone staff: "added", "already" (added before) or "configured" (in the settings)."""
    if user_id in configured:
        return "configured"
    return "added" if await staff.add(session, user_id, username, admin_id, now) else "already"


async def remove(session: AsyncSession, user_id: int, admin_id: int, now: datetime, configured: frozenset[int]) -> str:
    """Removes someone added in the chat: "removed", "not_staff" or "configured" (only the settings can)."""
    if user_id in configured:
        return "configured_remove"
    return "removed" if await staff.remove(session, user_id, admin_id, now) else "not_staff"


async def _username_of(session: AsyncSession, user_id: int) -> str | None:
    member = await session.scalar(select(Member).where(Member.telegram_user_id == user_id))
    if member is not None and member.username:
        return member.username
    added = await session.get(StaffMember, user_id)
    return added.username if added is not None else None


async def _name_of(session: AsyncSession, user_id: int) -> str | None:
    member = await session.scalar(select(Member).where(Member.telegram_user_id == user_id))
    if member is None:
        return None
    return " ".join(part for part in (member.first_name, member.last_name) if part) or None


async def roster(session: AsyncSession, admins: list[int], configured: list[int]) -> list[StaffEntry]:
    """Admins, then staff from the settings, then staff added in the chat (oldest first)."""
    entries: list[StaffEntry] = []
    seen: set[int] = set()
    for source, ids in (("admin", admins), ("settings", configured)):
        for user_id in ids:
            if user_id not in seen:
                seen.add(user_id)
                entries.append(
                    StaffEntry(user_id, source, await _username_of(session, user_id), await _name_of(session, user_id))
                )
    for added in await staff.listed(session):
        if added.telegram_user_id not in seen:
            seen.add(added.telegram_user_id)
            entries.append(
                StaffEntry(
                    added.telegram_user_id,
                    "chat",
                    added.username,
                    await _name_of(session, added.telegram_user_id),
                    added.added_by,
                    added.added_at,
                )
            )
    return entries
