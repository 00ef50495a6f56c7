"""Erasure (/deleteme): the member's personal data and photos go, the anonymised claims stay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, fulfilment, outbox, support
from storage.claims import email_token
from storage.email_verification import forget_member as forget_codes
from storage.mail_outbox import forget_member as forget_mails
from storage.mailboxes import mailbox_key
from storage.models import (
    AuditEntry,
    Claim,
    ClaimEvent,
    ClaimStatus,
    ConversationState,
    ImageFingerprint,
    Member,
    OutboxMessage,
    OutboxStatus,
)
from storage.privacy.files import (
    OPEN,
    Files,
    claims_of,
    delete_unreferenced,
    paths_in,
    products_of,
    replaced_invoices,
    tombstone_id,
)

WITHDRAWN_CODE = "withdrawn"  # the reason code of a claim withdrawn on erasure; no reason text is stored
WITHDRAWN_REASON_KEY = "mydata.withdrawn_reason"  # what a reader shows for it, in the reader's language

ERASED = "—"  # what replaces a personal value inside a staff notice already queued


@dataclass
class ErasurePreview:
    """What /deleteme will do, for the confirmation question."""

    claims: int
    withdrawn: list[str]  # order ids in review or missing information
    products: int


async def preview_erasure(session: AsyncSession, member: Member) -> ErasurePreview:
    claims = await claims_of(session, member.id)
    products = await products_of(session, member.id)
    return ErasurePreview(len(claims), [c.order_id for c in claims if c.status in OPEN], len(products))


@dataclass
class Erasure:
    member_id: int
    order_ids: list[str]  # every claim kept, anonymised
    withdrawn: list[str]  # of those, the ones withdrawn from review
    products_kept: int
    products_deleted: int
    files_deleted: list[str]


def _scrub(value: Any, personal: set[str], tg_id: int, tombstone: int) -> Any:
    """A queued staff notice's values, with the member's personal values replaced."""
    if isinstance(value, dict):
        return {
            k: (tombstone if k == "user_id" and v == tg_id else _scrub(v, personal, tg_id, tombstone))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v, personal, tg_id, tombstone) for v in value]
    if isinstance(value, str) and any(p.lower() in value.lower() for p in personal):
        return ERASED
    return value


async def erase_member(
    session: AsyncSession,
    member: Member,
    now: datetime,
    files: Files,
    *,
    staff_chat_id: int | None = None,
    staff_language: str = "en",
) -> Erasure:
    """Erases the member's personal data and photos, keeps the anonymised claims (see the module
    docstring for exactly what stays), tells staff through the outbox and audits it."""
    tg_id, chat_id = member.telegram_user_id, member.chat_id
    tombstone = tombstone_id(member.id)
    claims = await claims_of(session, member.id)
    products = await products_of(session, member.id)
    claim_ids = [c.id for c in claims]
    claimed_products = {item.registered_product_id for c in claims for item in c.items}

    # -- photos: every file the member's rows point at, now or before
    paths: set[str] = set()
    paths.update(p.invoice_path for p in products if p.invoice_path)
    paths.update(i.sn_photo_path for c in claims for i in c.items if i.sn_photo_path)
    paths.update(await replaced_invoices(session, [p.id for p in products]))
    fingerprints = (
        await session.scalars(select(ImageFingerprint).where(ImageFingerprint.member_id == member.id))
    ).all()
    paths.update(fp.path for fp in fingerprints if fp.path)
    state = await session.get(ConversationState, tg_id)
    if state is not None:
        paths.update(paths_in(state.data or {}))
    for fp in fingerprints:
        fp.path = None  # the hashes stay: the duplicate-photo check needs nothing else

    # -- claims: withdrawn when still open, anonymised all
    withdrawn: list[str] = []
    for claim in claims:
        if claim.status in OPEN:
            previous = claim.status
            result = await session.execute(
                update(Claim)
                .where(Claim.id == claim.id, Claim.status == previous)
                .values(
                    status=ClaimStatus.REJECTED,
                    decided_at=now,
                    decided_by=None,
                    reason=None,
                    reason_code=WITHDRAWN_CODE,
                )
                .execution_options(synchronize_session=False)
            )
            await session.refresh(
                claim, attribute_names=["status", "decided_at", "decided_by", "reason", "reason_code"]
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                withdrawn.append(claim.order_id)
                session.add(
                    ClaimEvent(
                        claim_id=claim.id,
                        at=now,
                        kind="withdrawn",
                        actor_user_id=tombstone,
                        details={"reason_code": WITHDRAWN_CODE, "previous_status": previous},
                    )
                )
        claim.shipping_address = None
        if not claim.email.startswith("erased:"):
            claim.email_key = email_token(claim.email_key or mailbox_key(claim.email))  # still counts for the limit
            claim.email = email_token(claim.email)
        for item in claim.items:
            item.sn_photo_path = None
    if claim_ids:
        await session.execute(
            update(ClaimEvent)
            .where(ClaimEvent.claim_id.in_(claim_ids), ClaimEvent.actor_user_id == tg_id)
            .values(actor_user_id=tombstone)
            .execution_options(synchronize_session=False)
        )

    # -- payout details and lucky-draw prize addresses: erased (storage.fulfilment)
    await fulfilment.erase_for_claims(session, claim_ids, now)

    # -- products: kept (anonymised) when part of a claim, deleted otherwise
    kept = deleted = 0
    for product in products:
        if product.id in claimed_products:
            product.invoice_path = None
            kept += 1
        else:
            await session.delete(product)
            deleted += 1

    # -- the journey in progress, and the messages to their chat
    await session.execute(delete(ConversationState).where(ConversationState.user_id == tg_id))
    await support.erase(session, member.id)  # the support thread: their words and photos' ids
    await session.execute(
        delete(OutboxMessage).where(OutboxMessage.chat_id == chat_id, OutboxMessage.status != OutboxStatus.SENDING)
    )
    personal = {v for v in (member.email, member.phone, member.username) if v}
    full_name = " ".join(v for v in (member.first_name, member.last_name) if v)
    if full_name:
        personal.add(full_name)
    if member.email:
        queued = (
            await session.scalars(
                select(OutboxMessage).where(cast(OutboxMessage.payload, Text).contains(member.email, autoescape=True))
            )
        ).all()
        for message in queued:
            message.payload = _scrub(dict(message.payload or {}), personal, tg_id, tombstone)

    # -- the audit trail keeps what happened, not who in Telegram terms
    subjects = (
        {c.order_id for c in claims} | {f"registered_product:{p.id}" for p in products} | {p.serial for p in products}
    )
    await session.execute(
        update(AuditEntry)
        .where(
            AuditEntry.actor_user_id == tg_id,
            or_(AuditEntry.subject.in_(sorted(subjects)), AuditEntry.action.in_(("staff.refused", "member.exported"))),
        )
        .values(actor_user_id=tombstone)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(AuditEntry)
        .where(AuditEntry.action == "delivery.undeliverable", AuditEntry.subject == str(chat_id))
        .values(subject=str(tombstone))
        .execution_options(synchronize_session=False)
    )

    # -- codes, wrong tries and mails name the address
    await forget_codes(session, member.id)
    await forget_mails(session, member.id)

    # -- the member row, detached: the same person may /start again as a new member
    member.telegram_user_id = member.chat_id = tombstone
    member.username = member.email = member.first_name = member.last_name = member.phone = None
    member.newsletter = member.email_shared_allowed = member.email_copies = False
    member.bot_blocked_at = member.email_verified_at = member.email_undeliverable_at = None
    member.deleted_at = member.updated_at = now
    await session.flush()

    files_deleted = await delete_unreferenced(session, paths, files)
    order_ids = [c.order_id for c in claims]
    await audit.record(
        session,
        now=now,
        actor_user_id=tombstone,
        action="member.erased",
        subject=f"member:{member.id}",
        details={
            "order_ids": order_ids,
            "withdrawn": withdrawn,
            "products_kept": kept,
            "products_deleted": deleted,
            "files_deleted": len(files_deleted),
        },
    )
    if staff_chat_id is not None:
        values = {
            "member": member.id,
            "claims": len(order_ids),
            "order_ids": {"$list": order_ids},
            "withdrawn": {"$list": withdrawn},
        }
        await outbox.enqueue(
            session,
            chat_id=staff_chat_id,
            kind="staff_notice",
            key="mydata.staff.erased",
            language=staff_language,
            values=values,
            now=now,
        )
    await session.flush()
    return Erasure(member.id, order_ids, withdrawn, kept, deleted, files_deleted)
