"""Registering a product: who may claim a serial, the CHK lockout, dates, and the final save.

The rules live here so the journey only renders their outcome: `check_chk` says ok, wrong (with
the tries left) or locked (until when); `purchase_date_bounds` says which purchase dates can be
true; `normalize_invoice_number` is the one form an invoice number is stored and compared in.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, catalogue, catalogue_cache, fingerprints
from storage.models import Channel, RegisteredProduct, SerialAttempt
from storage.upsert import insert_for

CHK_TRIES = 5
CHK_WINDOW = timedelta(hours=1)
LOCK_FOR = timedelta(hours=1)
EARLIEST_TIMEZONE = timedelta(hours=14)  # UTC+14 (Kiribati): the first place where a day begins
INVOICE_NUMBER_SHAPE = re.compile(r"[A-Z0-9][A-Z0-9 ./_#-]{1,63}")


class SerialOwner(enum.StrEnum):
    NOBODY = "nobody"
    YOU = "you"
    SOMEONE_ELSE = "someone_else"


class DateProblem(enum.StrEnum):
    IN_FUTURE = "in_future"
    BEFORE_LAUNCH = "before_launch"


class ChkOutcome(enum.StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class ChkResult:
    """What a typed CHK did: accepted, refused with `tries_left`, or the serial locked until `locked_until`."""

    outcome: ChkOutcome
    tries_left: int = CHK_TRIES
    locked_until: datetime | None = None

    def minutes_locked(self, now: datetime) -> int:
        """Whole minutes until the lock ends, rounded up (never 0 while locked)."""
        if self.locked_until is None:
            return 0
        return max(1, math.ceil((self.locked_until - now).total_seconds() / 60))


@dataclass(frozen=True)
class PurchaseDateBounds:
    """The purchase dates that can be true for a product: not before its launch, not after today
    anywhere on Earth."""

    latest: date
    earliest: date | None = None

    def problem(self, purchase: date) -> DateProblem | None:
        return purchase_date_problem(purchase, self.latest, self.earliest)


class RegistrationError(Exception):
    """The draft cannot be saved; `reason` says why in a word the caller localizes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Draft:
    """Everything the customer answered, as kept in the conversation state."""

    catalogue_product_id: int
    serial: str
    purchase_country: str
    store_name: str
    purchase_date: date
    channel: str
    invoice_path: str
    invoice_sha256: str
    invoice_number: str | None = None
    invoice_phash: int | None = None


async def serial_owner(session: AsyncSession, member_id: int, serial: str, now: datetime) -> SerialOwner:
    """Who registered the serial; someone else's serial is logged as a refused attempt for staff."""
    owner = await session.scalar(select(RegisteredProduct.member_id).where(RegisteredProduct.serial == serial))
    if owner is None:
        return SerialOwner.NOBODY
    if owner == member_id:
        return SerialOwner.YOU
    session.add(SerialAttempt(member_id=member_id, serial=serial, kind="duplicate", at=now))
    await audit.record(
        session,
        now=now,
        actor_user_id=None,
        action="serial.duplicate_refused",
        subject=serial,
        details={"member_id": member_id, "owner_member_id": owner},
    )
    return SerialOwner.SOMEONE_ELSE


async def locked_until(session: AsyncSession, member_id: int, serial: str, now: datetime) -> datetime | None:
    """After CHK_TRIES wrong CHKs within CHK_WINDOW the serial is locked for this member for LOCK_FOR."""
    recent = (
        await session.scalars(
            select(SerialAttempt.at)
            .where(
                SerialAttempt.member_id == member_id,
                SerialAttempt.serial == serial,
                SerialAttempt.kind == "wrong_chk",
                SerialAttempt.at > now - CHK_WINDOW - LOCK_FOR,
            )
            .order_by(SerialAttempt.at)
        )
    ).all()
    for index in range(len(recent) - CHK_TRIES + 1):
        window = recent[index : index + CHK_TRIES]
        if window[-1] - window[0] <= CHK_WINDOW and window[-1] + LOCK_FOR > now:
            return window[-1] + LOCK_FOR
    return None


async def check_chk(
    session: AsyncSession, member_id: int, serial: str, typed: str, now: datetime, secret: str | None
) -> ChkResult:
    """Judges a typed CHK for the serial: a locked serial stays locked whatever is typed; a wrong
    CHK is counted, and the last allowed wrong one locks the serial for LOCK_FOR."""
    until = await locked_until(session, member_id, serial, now)
    if until is not None:
        return ChkResult(ChkOutcome.LOCKED, 0, until)
    match = await catalogue.find_serial(session, serial)
    if match is not None and await catalogue.check_chk(session, match, typed, secret):
        return ChkResult(ChkOutcome.OK)
    left = await record_wrong_chk(session, member_id, serial, now)
    if left == 0:
        return ChkResult(ChkOutcome.LOCKED, 0, await locked_until(session, member_id, serial, now) or now + LOCK_FOR)
    return ChkResult(ChkOutcome.WRONG, left)


async def record_wrong_chk(session: AsyncSession, member_id: int, serial: str, now: datetime) -> int:
    """Counts a wrong CHK; returns how many tries are left before the lock."""
    session.add(SerialAttempt(member_id=member_id, serial=serial, kind="wrong_chk", at=now))
    await session.flush()
    count = await session.scalar(
        select(func.count())
        .select_from(SerialAttempt)
        .where(
            SerialAttempt.member_id == member_id,
            SerialAttempt.serial == serial,
            SerialAttempt.kind == "wrong_chk",
            SerialAttempt.at > now - CHK_WINDOW,
        )
    )
    return max(CHK_TRIES - int(count or 0), 0)


def latest_purchase_date(now: datetime) -> date:
    """The latest date it is anywhere on Earth: a purchase made 'today' in Kiribati is not in the future."""
    return (now + EARLIEST_TIMEZONE).date()


async def purchase_date_bounds(
    session: AsyncSession, catalogue_product_id: int | None, now: datetime
) -> PurchaseDateBounds:
    """The purchase-date window of a catalogue product (only the upper end when it is unknown)."""
    product = await catalogue_cache.entry(session, catalogue_product_id) if catalogue_product_id else None
    return PurchaseDateBounds(latest_purchase_date(now), product.launch_date if product is not None else None)


def normalize_invoice_number(typed: str) -> str | None:
    """The invoice number as stored and compared by the duplicate check (spaces collapsed, upper
    case), or None when it cannot be one (letters, digits and . / _ # - only, 2-64 characters)."""
    number = " ".join(typed.split()).upper()
    return number if INVOICE_NUMBER_SHAPE.fullmatch(number) else None


def purchase_date_problem(purchase: date, today: date, launch: date | None) -> DateProblem | None:
    """A purchase cannot be in the future nor before the product existed."""
    if purchase > today:
        return DateProblem.IN_FUTURE
    if launch is not None and purchase < launch:
        return DateProblem.BEFORE_LAUNCH
    return None


async def complete(
    session: AsyncSession, member_id: int, draft: Draft, now: datetime, today: date | None = None
) -> RegisteredProduct:
    """Saves the registration after checking the draft once more (it may be days old)."""
    today = today or latest_purchase_date(now)
    product = await catalogue_cache.entry(session, draft.catalogue_product_id)
    if product is None:
        raise RegistrationError("unknown_product")
    if draft.channel not in set(Channel):
        raise RegistrationError("bad_channel")
    if purchase_date_problem(draft.purchase_date, today, product.launch_date) is not None:
        raise RegistrationError("bad_date")
    if not draft.invoice_path:
        raise RegistrationError("invoice_missing")
    invoice_number = normalize_invoice_number(draft.invoice_number) if draft.invoice_number else None
    owner = await serial_owner(session, member_id, draft.serial, now)
    if owner is not SerialOwner.NOBODY:
        raise RegistrationError(f"serial_{owner.value}")
    values = {
        "member_id": member_id,
        "catalogue_product_id": product.id,
        "serial": draft.serial,
        "purchase_country": draft.purchase_country,
        "store_name": draft.store_name,
        "purchase_date": draft.purchase_date,
        "channel": draft.channel,
        "invoice_path": draft.invoice_path,
        "invoice_sha256": draft.invoice_sha256,
        "invoice_number": invoice_number,
        "registered_at": now,
    }
    # One statement that loses a race for the same serial without an error (so no savepoint).
    insert = insert_for(session, RegisteredProduct).values(values).on_conflict_do_nothing(index_elements=["serial"])
    registered: RegisteredProduct | None = (await session.scalars(insert.returning(RegisteredProduct))).first()
    if registered is None:
        raise RegistrationError("serial_someone_else")  # lost a race for the same serial
    if draft.invoice_phash is not None:
        await fingerprints.record(
            session,
            sha256=draft.invoice_sha256,
            phash=draft.invoice_phash,
            member_id=member_id,
            kind="invoice",
            registered_product_id=registered.id,
            claim_id=None,
            path=draft.invoice_path,
            now=now,
        )
    await audit.record(
        session,
        now=now,
        actor_user_id=None,
        action="product.registered",
        subject=draft.serial,
        details={"member_id": member_id, "model": product.model},
    )
    return registered
