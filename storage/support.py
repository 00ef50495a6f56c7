"""Support conversations: a customer writes to staff, staff answer; dead ends become requests.

Messages either way are stored on the customer's one thread and announced through the outbox:
a customer's message to the staff chat ("support_to_staff", rendered by the staff side, which
posts it in the customer's forum topic or as a message staff reply to), a staff answer to the
customer ("support_to_customer"). Storage keeps where a customer's message was posted
(`posted`), so a reply to it, or any message in the customer's topic, finds the thread.

Two resolutions of the dead ends are domain rules kept here: `add_serial` (a serial the
catalogue lacked is added, and whoever asked about it is told they can register it) and
`transfer_product` (a registered serial moves to another account, audited, both owners told).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, catalogue_cache, outbox
from storage.catalogue_lookup import CHK_SHAPE, SERIAL_SHAPE, clean_serial, keyed_chk
from storage.models import (
    CatalogueProduct,
    CatalogueSerial,
    Claim,
    ClaimItem,
    ClaimStatus,
    Member,
    RegisteredProduct,
)
from storage.support_models import SupportMessage, SupportThread

MAX_TEXT = 3000  # of a message either way: the staff chat shows it with a header, under Telegram's 4096
MAX_ORDER_IDS = 10
IN, OUT = "in", "out"
OPEN_CLAIMS = (ClaimStatus.REVIEW, ClaimStatus.MISSING_INFO)


class Subject(enum.StrEnum):
    """Why the customer wrote: a plain message, or a dead end of the registration."""

    GENERAL = "general"
    UNKNOWN_SERIAL = "unknown_serial"
    SERIAL_TAKEN = "serial_taken"
    NO_CHK = "no_chk"


class SupportError(enum.StrEnum):
    NO_STAFF_CHAT = "no_staff_chat"
    EMPTY = "empty"
    BAD_SERIAL = "bad_serial"
    UNKNOWN_MODEL = "unknown_model"
    SERIAL_EXISTS = "serial_exists"
    CHK_NEEDED = "chk_needed"
    NOT_REGISTERED = "not_registered"
    UNKNOWN_CUSTOMER = "unknown_customer"
    SAME_OWNER = "same_owner"
    OPEN_CLAIM = "open_claim"
    CUSTOMER_GONE = "customer_gone"


class SupportRefused(Exception):
    def __init__(self, error: SupportError, **values: object) -> None:
        super().__init__(error.value)
        self.error = error
        self.values = values


def clean_request_serial(raw: str) -> str:
    """A serial as a request carries it: cleaned, upper case, letters and digits, at most 40."""
    return re.sub(r"[^A-Z0-9]", "", clean_serial(raw).upper())[:40]


# ---------------------------------------------------------------- the thread


async def thread_of(session: AsyncSession, member_id: int, now: datetime) -> SupportThread:
    thread = await session.scalar(select(SupportThread).where(SupportThread.member_id == member_id))
    if thread is None:
        thread = SupportThread(member_id=member_id, created_at=now, updated_at=now)
        session.add(thread)
        await session.flush()
    return thread


async def order_ids(session: AsyncSession, member_id: int) -> list[str]:
    """The customer's latest order ids, newest first: staff see them with every message."""
    query = (
        select(Claim.order_id)
        .where(Claim.member_id == member_id)
        .order_by(Claim.submitted_at.desc(), Claim.id.desc())
        .limit(MAX_ORDER_IDS)
    )
    return list((await session.scalars(query)).all())


async def from_customer(
    session: AsyncSession,
    member: Member,
    now: datetime,
    *,
    staff_chat_id: int | None,
    text: str | None,
    photo_file_id: str | None = None,
    subject: Subject = Subject.GENERAL,
    serial: str | None = None,
) -> SupportMessage:
    """Stores the customer's message and queues it for the staff chat, in one transaction."""
    if staff_chat_id is None:
        raise SupportRefused(SupportError.NO_STAFF_CHAT)
    text = (text or "").strip()[:MAX_TEXT] or None
    if text is None and photo_file_id is None:
        raise SupportRefused(SupportError.EMPTY)
    thread = await thread_of(session, member.id, now)
    thread.updated_at = now
    message = SupportMessage(
        thread_id=thread.id,
        at=now,
        direction=IN,
        author_user_id=member.telegram_user_id,
        text=text,
        photo_file_id=photo_file_id,
        subject=subject.value,
        serial=clean_request_serial(serial) if serial else None,
    )
    session.add(message)
    await session.flush()
    await outbox.enqueue_kind(
        session,
        chat_id=staff_chat_id,
        kind="support_to_staff",
        payload={"support_message_id": message.id, "chat_id": staff_chat_id},
        now=now,
    )
    return message


async def posted(session: AsyncSession, support_message_id: int, chat_id: int, staff_message_id: int) -> None:
    """Where the customer's message went in the staff chat (the outbox tells after sending)."""
    message = await session.get(SupportMessage, support_message_id)
    if message is not None:
        message.staff_chat_id, message.staff_message_id = chat_id, staff_message_id


async def set_topic(session: AsyncSession, thread_id: int, chat_id: int, topic_id: int) -> None:
    thread = await session.get(SupportThread, thread_id)
    if thread is not None:
        thread.staff_chat_id, thread.topic_id = chat_id, topic_id


async def thread_by_topic(session: AsyncSession, chat_id: int, topic_id: int) -> SupportThread | None:
    query = select(SupportThread).where(SupportThread.staff_chat_id == chat_id, SupportThread.topic_id == topic_id)
    return (await session.scalars(query)).first()


async def thread_by_staff_message(session: AsyncSession, chat_id: int, message_id: int) -> SupportThread | None:
    """The thread of the customer message posted as `message_id` in the staff chat."""
    query = (
        select(SupportThread)
        .join(SupportMessage, SupportMessage.thread_id == SupportThread.id)
        .where(SupportMessage.staff_chat_id == chat_id, SupportMessage.staff_message_id == message_id)
    )
    return (await session.scalars(query)).first()


async def from_staff(
    session: AsyncSession,
    thread: SupportThread,
    now: datetime,
    *,
    staff_user_id: int,
    staff_name: str | None,
    text: str | None,
    photo_file_id: str | None = None,
) -> SupportMessage:
    """Stores staff's answer and queues it for the customer (in their language, at send time)."""
    member = await session.get(Member, thread.member_id)
    text = (text or "").strip()[:MAX_TEXT] or None
    if member is None or member.deleted_at is not None:
        raise SupportRefused(SupportError.CUSTOMER_GONE)
    if text is None and photo_file_id is None:
        raise SupportRefused(SupportError.EMPTY)
    thread.updated_at = now
    message = SupportMessage(
        thread_id=thread.id,
        at=now,
        direction=OUT,
        author_user_id=staff_user_id,
        author_name=(staff_name or "")[:120] or None,
        text=text,
        photo_file_id=photo_file_id,
    )
    session.add(message)
    await session.flush()
    await outbox.enqueue_kind(
        session,
        chat_id=member.chat_id,
        kind="support_to_customer",
        payload={"support_message_id": message.id, "language": member.language},
        now=now,
    )
    return message


@dataclass(frozen=True)
class StaffView:
    """What staff see of a customer's message: the customer, their orders, the thread's topic and,
    for a missing sticker, the CHK the catalogue holds (staff may tell it once the photos convince them)."""

    message: SupportMessage
    thread: SupportThread
    member: Member
    order_ids: list[str]
    first_in_thread: bool
    listed_chk: str | None


async def staff_view(session: AsyncSession, support_message_id: int) -> StaffView | None:
    message = await session.get(SupportMessage, support_message_id)
    thread = await session.get(SupportThread, message.thread_id) if message is not None else None
    member = await session.get(Member, thread.member_id) if thread is not None else None
    if message is None or thread is None or member is None:
        return None
    earlier = await session.scalar(
        select(func.count())
        .select_from(SupportMessage)
        .where(SupportMessage.thread_id == thread.id, SupportMessage.id < message.id)
    )
    chk = None
    if message.subject == Subject.NO_CHK and message.serial:
        chk = await session.scalar(select(CatalogueSerial.chk).where(CatalogueSerial.serial == message.serial))
    return StaffView(message, thread, member, await order_ids(session, member.id), not earlier, chk)


async def message_by_id(session: AsyncSession, support_message_id: int) -> SupportMessage | None:
    return await session.get(SupportMessage, support_message_id)


async def recent_messages(session: AsyncSession, member_id: int, limit: int = 5) -> tuple[list[SupportMessage], int]:
    """The thread's last `limit` messages, oldest first, and how many it has in all."""
    thread_id = select(SupportThread.id).where(SupportThread.member_id == member_id).scalar_subquery()
    total = await session.scalar(
        select(func.count()).select_from(SupportMessage).where(SupportMessage.thread_id == thread_id)
    )
    query = (
        select(SupportMessage)
        .where(SupportMessage.thread_id == thread_id)
        .order_by(SupportMessage.id.desc())
        .limit(limit)
    )
    return list(reversed((await session.scalars(query)).all())), int(total or 0)


async def export_rows(session: AsyncSession, member_id: int) -> list[dict[str, object]]:
    """/mydata: every message of the thread, either way (photos are the messenger's, named by id)."""
    query = (
        select(SupportMessage)
        .join(SupportThread, SupportThread.id == SupportMessage.thread_id)
        .where(SupportThread.member_id == member_id)
        .order_by(SupportMessage.id)
    )
    return [
        {
            "at": message.at.isoformat(),
            "from": "you" if message.direction == IN else "staff",
            "text": message.text,
            "photo": message.photo_file_id is not None,
            "about": message.subject if message.subject != Subject.GENERAL else None,
            "serial": message.serial,
        }
        for message in (await session.scalars(query)).all()
    ]


async def erase(session: AsyncSession, member_id: int) -> None:
    """/deleteme: the thread and its messages go."""
    await session.execute(delete(SupportThread).where(SupportThread.member_id == member_id))


# ---------------------------------------------------------------- resolutions


@dataclass(frozen=True)
class SerialAdded:
    serial: str
    model: str
    name: str
    told: int  # customers who had asked about it and were told


def _model_and_chk(rest: str) -> list[tuple[str, str | None]]:
    """ "PRO MP241 318" → [("PRO MP241 318", None), ("PRO MP241", "318")]: the whole as a model
    first, then with a trailing 3-digit word as the CHK."""
    rest = " ".join(rest.split())
    options: list[tuple[str, str | None]] = [(rest, None)]
    head, _, last = rest.rpartition(" ")
    if head and CHK_SHAPE.fullmatch(last):
        options.append((head, last))
    return options


async def _product_by_model(session: AsyncSession, model: str) -> CatalogueProduct | None:
    query = select(CatalogueProduct).where(func.lower(CatalogueProduct.model) == model.lower())
    return (await session.scalars(query)).first()


async def add_serial(
    session: AsyncSession, raw_serial: str, model_and_chk: str, staff_user_id: int, now: datetime, secret: str | None
) -> SerialAdded:
    """Adds a serial the catalogue lacked to a model (with the CHK from the sticker, unless the
    model's CHKs are keyed), audited; customers who asked about it are told they can register it."""
    serial = clean_serial(raw_serial).upper()
    if not SERIAL_SHAPE.fullmatch(serial):
        raise SupportRefused(SupportError.BAD_SERIAL, serial=raw_serial[:40])
    product, chk = None, None
    for model, typed_chk in _model_and_chk(model_and_chk):
        product, chk = await _product_by_model(session, model), typed_chk
        if product is not None:
            break
    if product is None:
        raise SupportRefused(SupportError.UNKNOWN_MODEL, model=model_and_chk[:64])
    if await session.scalar(select(CatalogueSerial.id).where(CatalogueSerial.serial == serial)) is not None:
        raise SupportRefused(SupportError.SERIAL_EXISTS, serial=serial)
    if chk is None and product.chk_mode == "keyed" and secret:
        chk = keyed_chk(serial, secret)
    if chk is None:
        raise SupportRefused(SupportError.CHK_NEEDED, serial=serial, model=product.model)
    session.add(CatalogueSerial(product_id=product.id, serial=serial, chk=chk))
    await catalogue_cache.bump_version(session, now)
    await audit.record(
        session,
        now=now,
        actor_user_id=staff_user_id,
        action="catalogue.serial_added",
        subject=serial,
        details={"model": product.model},
    )
    told = await _resolve_requests(
        session, serial, (Subject.UNKNOWN_SERIAL,), now, key="support.serial_added", values={"serial": serial}
    )
    return SerialAdded(serial, product.model, product.name, told)


async def _resolve_requests(
    session: AsyncSession,
    serial: str,
    subjects: tuple[Subject, ...],
    now: datetime,
    *,
    key: str | None,
    values: dict[str, object],
    member_id: int | None = None,
) -> int:
    """Marks open requests about `serial` resolved and tells each customer once (with `key`, when
    given); returns how many customers had asked."""
    query = (
        select(SupportMessage, SupportThread.member_id)
        .join(SupportThread, SupportThread.id == SupportMessage.thread_id)
        .where(
            SupportMessage.serial == serial,
            SupportMessage.subject.in_([s.value for s in subjects]),
            SupportMessage.resolved_at.is_(None),
        )
    )
    if member_id is not None:
        query = query.where(SupportThread.member_id == member_id)
    told: set[int] = set()
    for message, asker in (await session.execute(query)).all():
        message.resolved_at = now
        if asker in told:
            continue
        member = await session.get(Member, asker)
        if member is None or member.deleted_at is not None:
            continue
        told.add(asker)
        if key is None:
            continue
        await outbox.enqueue(
            session, chat_id=member.chat_id, kind="support", key=key, language=member.language, values=values, now=now
        )
    return len(told)


async def find_member(session: AsyncSession, who: str) -> Member | None:
    """A customer named by Telegram id, @username or e-mail."""
    who = who.strip()
    if who.lstrip("-").isdecimal():
        condition = Member.telegram_user_id == int(who)
    elif who.startswith("@"):
        condition = func.lower(Member.username) == who[1:].lower()
    elif "@" in who:
        condition = func.lower(Member.email) == who.lower()
    else:
        return None
    query = select(Member).where(condition, Member.deleted_at.is_(None)).order_by(Member.id)
    return (await session.scalars(query)).first()


@dataclass(frozen=True)
class Transfer:
    serial: str
    model: str
    from_member: Member
    to_member: Member


async def transfer_product(
    session: AsyncSession, raw_serial: str, to: str, staff_user_id: int, now: datetime
) -> Transfer:
    """Moves a registered serial to another account (a second-hand owner), audited; both are told.
    Refused while the product is part of a claim still open, so no decision changes hands."""
    serial = clean_serial(raw_serial).upper()
    product = await session.scalar(select(RegisteredProduct).where(RegisteredProduct.serial == serial))
    if product is None:
        raise SupportRefused(SupportError.NOT_REGISTERED, serial=raw_serial[:40])
    target = await find_member(session, to)
    if target is None:
        raise SupportRefused(SupportError.UNKNOWN_CUSTOMER, who=to[:64])
    previous = await session.get(Member, product.member_id)
    assert previous is not None
    if previous.id == target.id:
        raise SupportRefused(SupportError.SAME_OWNER, serial=serial)
    open_claim = await session.scalar(
        select(Claim.order_id)
        .join(ClaimItem, ClaimItem.claim_id == Claim.id)
        .where(ClaimItem.registered_product_id == product.id, Claim.status.in_(list(OPEN_CLAIMS)))
        .limit(1)
    )
    if open_claim is not None:
        raise SupportRefused(SupportError.OPEN_CLAIM, serial=serial, order_id=open_claim)
    product.member_id = target.id
    await audit.record(
        session,
        now=now,
        actor_user_id=staff_user_id,
        action="product.transferred",
        subject=serial,
        details={"product_id": product.id, "from_member_id": previous.id, "to_member_id": target.id},
    )
    model = product.catalogue_product.model
    values: dict[str, object] = {"serial": serial, "name": product.catalogue_product.name}
    await _resolve_requests(session, serial, (Subject.SERIAL_TAKEN,), now, key=None, values=values, member_id=target.id)
    await outbox.enqueue(
        session,
        chat_id=target.chat_id,
        kind="support",
        key="support.transfer_to_you",
        language=target.language,
        values=values,
        now=now,
    )
    if previous.deleted_at is None:
        await outbox.enqueue(
            session,
            chat_id=previous.chat_id,
            kind="support",
            key="support.transfer_from_you",
            language=previous.language,
            values=values,
            now=now,
        )
    return Transfer(serial, model, previous, target)


__all__ = [
    "IN",
    "OUT",
    "SerialAdded",
    "StaffView",
    "Subject",
    "SupportError",
    "SupportRefused",
    "Transfer",
    "add_serial",
    "clean_request_serial",
    "erase",
    "export_rows",
    "find_member",
    "from_customer",
    "from_staff",
    "order_ids",
    "posted",
    "recent_messages",
    "set_topic",
    "staff_view",
    "thread_by_staff_message",
    "thread_by_topic",
    "transfer_product",
]
