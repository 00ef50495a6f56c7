"""Proving an e-mail address belongs to the customer: a 6-digit code mailed to it, typed in the chat.

Rules (all here, so any messenger gets the same): a code is valid for `valid_for` (the bot's
EMAIL_CODE_MINUTES); a new code replaces the earlier ones; MAX_WRONG wrong tries within LOCK_FOR
lock that address for that account until LOCK_FOR after the last of them; at most
PER_ADDRESS_PER_HOUR codes go to one mailbox an hour (whoever asks: nobody floods someone else's
inbox) and PER_ACCOUNT_PER_DAY to one account a day. Only a hash of the code is stored; the mail
carries it (and storage.mail_outbox wipes it from the queued mail once sent).

The redeem limit counts per mailbox, not per spelling (storage.mailboxes.mailbox_key, re-exported
here); the address as typed is what the mail is sent to.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import mail_outbox
from storage.mailboxes import mailbox_key
from storage.models import EmailAttempt, EmailCode, Member

CODE_DIGITS = 6
MAX_WRONG = 5
LOCK_FOR = timedelta(hours=1)
PER_ADDRESS_PER_HOUR = 3
PER_ACCOUNT_PER_DAY = 10
_NOT_DIGIT = re.compile(r"[\s\-]")


def is_verified(member: Member | None) -> bool:
    """The member's current address was proven with a code."""
    return member is not None and bool(member.email) and member.email_verified_at is not None


class NotSent(enum.StrEnum):
    NO_ADDRESS = "no_address"
    LOCKED = "locked"  # too many wrong codes for this address on this account
    ADDRESS_LIMIT = "address_limit"  # PER_ADDRESS_PER_HOUR reached
    ACCOUNT_LIMIT = "account_limit"  # PER_ACCOUNT_PER_DAY reached


class CodeNotSent(Exception):
    def __init__(self, reason: NotSent, until: datetime | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.until = until  # when asking again can succeed


@dataclass(frozen=True)
class CodeSent:
    address: str
    expires_at: datetime


class Outcome(enum.StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"
    NO_CODE = "no_code"  # none sent, or replaced: ask for a new one
    NOT_A_CODE = "not_a_code"  # not six digits: no try is counted


@dataclass(frozen=True)
class Checked:
    outcome: Outcome
    tries_left: int = 0
    until: datetime | None = None


def _digest(member_id: int, key: str, code: str) -> str:
    return hashlib.sha256(f"{member_id}:{key}:{code}".encode()).hexdigest()


async def locked_until(session: AsyncSession, member_id: int, key: str, now: datetime) -> datetime | None:
    """When the lock on this address for this account ends, or None when it is not locked."""
    rows = await session.scalars(
        select(EmailAttempt.at)
        .where(EmailAttempt.member_id == member_id, EmailAttempt.address_key == key, EmailAttempt.at > now - LOCK_FOR)
        .order_by(EmailAttempt.at.desc())
        .limit(MAX_WRONG)
    )
    recent = list(rows.all())
    if len(recent) < MAX_WRONG:
        return None
    return recent[0] + LOCK_FOR


async def open_code(session: AsyncSession, member: Member) -> EmailCode | None:
    """The code the member may type now for their current address (maybe expired), if any."""
    if not member.email:
        return None
    code: EmailCode | None = await session.scalar(
        select(EmailCode)
        .where(EmailCode.member_id == member.id, EmailCode.address == member.email, EmailCode.closed_at.is_(None))
        .order_by(EmailCode.id.desc())
        .limit(1)
    )
    return code


async def _oldest_since(session: AsyncSession, where: object, since: datetime, limit: int) -> datetime | None:
    """The created_at of the oldest of the last `limit` codes since `since`, when there are that many."""
    rows = await session.scalars(
        select(EmailCode.created_at)
        .where(where, EmailCode.created_at > since)  # type: ignore[arg-type]
        .order_by(EmailCode.created_at.desc())
        .limit(limit)
    )
    found = list(rows.all())
    return found[-1] if len(found) >= limit else None


async def send_code(session: AsyncSession, member: Member, *, now: datetime, valid_for: timedelta) -> CodeSent:
    """Mails a new code to the member's address (queued in the e-mail outbox); raises CodeNotSent."""
    address = member.email
    if not address:
        raise CodeNotSent(NotSent.NO_ADDRESS)
    key = mailbox_key(address)
    if (until := await locked_until(session, member.id, key, now)) is not None:
        raise CodeNotSent(NotSent.LOCKED, until)
    hour, day = timedelta(hours=1), timedelta(days=1)
    oldest = await _oldest_since(session, EmailCode.address_key == key, now - hour, PER_ADDRESS_PER_HOUR)
    if oldest is not None:
        raise CodeNotSent(NotSent.ADDRESS_LIMIT, oldest + hour)
    oldest = await _oldest_since(session, EmailCode.member_id == member.id, now - day, PER_ACCOUNT_PER_DAY)
    if oldest is not None:
        raise CodeNotSent(NotSent.ACCOUNT_LIMIT, oldest + day)
    await session.execute(
        update(EmailCode)
        .where(EmailCode.member_id == member.id, EmailCode.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    expires = now + valid_for
    session.add(
        EmailCode(
            member_id=member.id,
            address=address,
            address_key=key,
            code_sha256=_digest(member.id, key, code),
            created_at=now,
            expires_at=expires,
        )
    )
    member.email_undeliverable_at = None  # a new try: a refusal of this mail is news again
    minutes = max(1, round(valid_for.total_seconds() / 60))
    await mail_outbox.enqueue(
        session,
        member=member,
        to_address=address,
        kind="code",
        key="email.code",
        values={"code": code, "minutes": minutes},
        now=now,
        secret=("code",),
    )
    await session.flush()
    return CodeSent(address, expires)


async def check_code(session: AsyncSession, member: Member, text: str, *, now: datetime) -> Checked:
    """Checks a typed code against the open one; the right one verifies the member's address."""
    if not member.email:
        return Checked(Outcome.NO_CODE)
    key = mailbox_key(member.email)
    if (until := await locked_until(session, member.id, key, now)) is not None:
        return Checked(Outcome.LOCKED, until=until)
    typed = _NOT_DIGIT.sub("", text or "")
    if len(typed) != CODE_DIGITS or not typed.isascii() or not typed.isdigit():
        return Checked(Outcome.NOT_A_CODE)
    code = await open_code(session, member)
    if code is None:
        return Checked(Outcome.NO_CODE)
    if code.expires_at <= now:
        return Checked(Outcome.EXPIRED)
    if hmac.compare_digest(code.code_sha256, _digest(member.id, key, typed)):
        code.closed_at = now
        member.email_verified_at, member.email_undeliverable_at, member.updated_at = now, None, now
        await session.flush()
        return Checked(Outcome.VERIFIED)
    session.add(EmailAttempt(member_id=member.id, address_key=key, at=now))
    await session.flush()
    if (until := await locked_until(session, member.id, key, now)) is not None:
        code.closed_at = now
        return Checked(Outcome.LOCKED, until=until)
    wrong = await session.scalar(
        select(func.count())
        .select_from(EmailAttempt)
        .where(EmailAttempt.member_id == member.id, EmailAttempt.address_key == key, EmailAttempt.at > now - LOCK_FOR)
    )
    return Checked(Outcome.WRONG, tries_left=max(MAX_WRONG - int(wrong or 0), 0))


async def mark_undeliverable(session: AsyncSession, member_id: int, address: str, now: datetime) -> Member | None:
    """A mail server refused the address for good: noted on the member if it is still their address.

    Returns the member to tell (None when they changed the address since, or are gone)."""
    member = await session.get(Member, member_id)
    if member is None or member.deleted_at is not None or member.email != address:
        return None
    member.email_undeliverable_at = now
    await session.execute(
        update(EmailCode)
        .where(EmailCode.member_id == member_id, EmailCode.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return member


async def forget_member(session: AsyncSession, member_id: int) -> None:
    """/deleteme: the codes and wrong tries name the address; they go with it."""
    await session.execute(delete(EmailCode).where(EmailCode.member_id == member_id))
    await session.execute(delete(EmailAttempt).where(EmailAttempt.member_id == member_id))
