"""The member's own data, exported (/mydata): everything stored about them as JSON, and their
photos to zip (storage/privacy/packing.py builds the files)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, fulfilment, support
from storage.models import (
    ActivationCode,
    AuditEntry,
    CatalogueProduct,
    ClaimEvent,
    ConversationState,
    ImageFingerprint,
    Member,
    OutboxMessage,
    Promotion,
    RegisteredProduct,
    SerialAttempt,
)
from storage.privacy.files import claims_of, iso, paths_in, products_of, replaced_invoices
from storage.texts import promotion_name

EXPORT_FORMAT = 1

# Audit details a customer may see about themselves; anything else (other members, staff names,
# chat ids) stays out of the export.
_AUDIT_DETAILS = frozenset(
    {
        "promotion",
        "model",
        "reason",
        "reason_code",
        "fixable",
        "code_assigned",
        "given",
        "previous_status",
        "old_path",
        "new_path",
        "sha256",
        "kind",
        "error",
    }
)

_STAFF_INTERNAL = frozenset({"claim.decision_refused"})


@dataclass(frozen=True)
class ExportPhoto:
    name: str  # file name inside the zip
    path: str  # MediaStore relative path


@dataclass
class MemberExport:
    data: dict[str, Any]
    photos: list[ExportPhoto] = field(default_factory=list)


class _PhotoIndex:
    """Gives each stored file one name in the zip (the first row that mentions it names it)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.photos: list[ExportPhoto] = []

    def add(self, path: str | None, name: str) -> str | None:
        if not path:
            return None
        if path not in self.names:
            taken = {p.name for p in self.photos}
            stem, _, ext = name.rpartition(".")
            unique, n = name, 2
            while unique in taken:
                unique, n = f"{stem}-{n}.{ext}", n + 1
            self.names[path] = unique
            self.photos.append(ExportPhoto(unique, path))
        return self.names[path]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)[:40] or "x"


async def _audit_about(session: AsyncSession, member: Member, subjects: set[str]) -> list[AuditEntry]:
    """Audit entries done by the member or about their claims, products and serials."""
    conditions = [AuditEntry.actor_user_id == member.telegram_user_id]
    if subjects:
        conditions.append(AuditEntry.subject.in_(sorted(subjects)))
    rows = (
        await session.scalars(select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.at, AuditEntry.id))
    ).all()
    mine: list[AuditEntry] = []
    for entry in rows:
        details = entry.details or {}
        if "member_id" in details and details["member_id"] not in (None, member.id):
            continue  # about another member who touched the same serial
        mine.append(entry)
    return mine


async def export_member(session: AsyncSession, member: Member, now: datetime) -> MemberExport:
    """Everything stored about `member`, as a JSON-ready dict plus the photos to zip.

    Records the export in the audit log (in this transaction).
    """
    photos = _PhotoIndex()
    language = member.language
    products = await products_of(session, member.id)
    claims = await claims_of(session, member.id)
    by_product = {p.id: p for p in products}

    product_rows = []
    for product in products:
        catalogue: CatalogueProduct = product.catalogue_product
        product_rows.append(
            {
                "id": product.id,
                "category": catalogue.category,
                "product": catalogue.name,
                "model": catalogue.model,
                "serial": product.serial,
                "warranty_months": catalogue.warranty_months,
                "purchase_country": product.purchase_country,
                "store": product.store_name,
                "purchase_date": iso(product.purchase_date),
                "where_purchased": product.channel,
                "invoice_number": product.invoice_number,
                "invoice_photo": photos.add(product.invoice_path, f"invoices/{_safe(product.serial)}.jpg"),
                "invoice_sha256": product.invoice_sha256,
                "registered_at": iso(product.registered_at),
            }
        )

    claim_ids = [c.id for c in claims]
    codes: dict[int, str] = {}
    events: dict[int, list[ClaimEvent]] = {}
    if claim_ids:
        for claim_id, code in (
            await session.execute(
                select(ActivationCode.claim_id, ActivationCode.code).where(ActivationCode.claim_id.in_(claim_ids))
            )
        ).all():
            codes[int(claim_id)] = code
        for event in (
            await session.scalars(
                select(ClaimEvent).where(ClaimEvent.claim_id.in_(claim_ids)).order_by(ClaimEvent.at, ClaimEvent.id)
            )
        ).all():
            events.setdefault(event.claim_id, []).append(event)
    after = await fulfilment.of_claims(session, claim_ids)  # payout details, payments, parcels
    claim_rows = []
    for claim in claims:
        promotion = await session.get(Promotion, claim.promotion_id)
        assert promotion is not None
        items = []
        for item in claim.items:
            owned = by_product.get(item.registered_product_id)
            owned = owned or await session.get(RegisteredProduct, item.registered_product_id)
            serial = owned.serial if owned is not None else str(item.registered_product_id)
            items.append(
                {
                    "product_id": item.registered_product_id,
                    "serial": serial,
                    "sn_photo": photos.add(item.sn_photo_path, f"sn_photos/{claim.order_id}_{_safe(serial)}.jpg"),
                    "sn_photo_sha256": item.sn_photo_sha256,
                }
            )
        history = []
        for event in events.get(claim.id, []):
            details = event.details or {}
            entry: dict[str, Any] = {"at": iso(event.at), "event": event.kind}
            for key in ("reason", "reason_code", "code"):
                if details.get(key):
                    entry[key] = details[key]
            history.append(entry)
        claim_rows.append(
            {
                "order_id": claim.order_id,
                "promotion": promotion.slug,
                "promotion_name": promotion_name(promotion, language),
                "prize_kind": promotion.prize_kind,
                "status": claim.status,
                "submitted_at": iso(claim.submitted_at),
                "attempt": claim.attempt,
                "email": claim.email,
                "lucky_draw_opt_in": claim.lucky_draw_opt_in,
                "shipping_address": claim.shipping_address,
                "decided_at": iso(claim.decided_at),
                "decision_reason": claim.reason,
                "decision_reason_code": claim.reason_code,
                "activation_code": codes.get(claim.id),
                "fulfilment": [
                    {
                        "for": row.purpose,
                        "state": row.state,
                        "payout_details": row.payout,
                        "shipping_address": row.address,
                        "paid_on": row.paid_on.isoformat() if row.paid_on else None,
                        "payment_reference": row.payment_reference,
                        "carrier": row.carrier,
                        "tracking_number": row.tracking_number,
                        "shipped_on": row.shipped_on.isoformat() if row.shipped_on else None,
                        "delivered_on": row.delivered_on.isoformat() if row.delivered_on else None,
                    }
                    for (claim_id, _), row in after.items()
                    if claim_id == claim.id
                ],
                "items": items,
                "history": history,
            }
        )

    for path in await replaced_invoices(session, list(by_product)):
        photos.add(path, f"earlier_photos/{path.rsplit('/', 1)[-1][:16]}.jpg")

    attempts = (
        await session.scalars(
            select(SerialAttempt)
            .where(SerialAttempt.member_id == member.id)
            .order_by(SerialAttempt.at, SerialAttempt.id)
        )
    ).all()

    state = await session.get(ConversationState, member.telegram_user_id)
    conversation = None
    if state is not None:
        answers = {k: v for k, v in (state.data or {}).items() if not str(k).startswith("_")}
        for path in paths_in(answers):
            photos.add(path, f"unfinished/{path.rsplit('/', 1)[-1][:16]}.jpg")
        conversation = {
            "journey": state.flow,
            "step": state.step,
            "answers": answers,
            "updated_at": iso(state.updated_at),
            "reminded_at": iso(state.reminded_at),
        }

    messages = (
        await session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == member.chat_id).order_by(OutboxMessage.id)
        )
    ).all()
    message_rows = [
        {
            "queued_at": iso(m.created_at),
            "sent_at": iso(m.sent_at),
            "status": m.status,
            "kind": m.kind,
            "message": (m.payload or {}).get("key"),
            "values": (m.payload or {}).get("values") or {},
        }
        for m in messages
    ]

    fingerprints = (
        await session.scalars(
            select(ImageFingerprint).where(ImageFingerprint.member_id == member.id).order_by(ImageFingerprint.id)
        )
    ).all()
    order_of = {c.id: c.order_id for c in claims}
    fingerprint_rows = []
    for fp in fingerprints:
        name = photos.add(fp.path, f"earlier_photos/{fp.sha256[:16]}.jpg")
        fingerprint_rows.append(
            {
                "kind": fp.kind,
                "sha256": fp.sha256,
                "perceptual_hash": fp.phash,
                "product_id": fp.registered_product_id,
                "order_id": order_of.get(fp.claim_id) if fp.claim_id is not None else None,
                "photo": name,
                "created_at": iso(fp.created_at),
            }
        )

    subjects = {c.order_id for c in claims} | {p.serial for p in products} | {a.serial for a in attempts}
    subjects |= {f"registered_product:{pid}" for pid in by_product} | {str(member.chat_id), f"member:{member.id}"}
    activity = []
    for logged in await _audit_about(session, member, subjects):
        if logged.action in _STAFF_INTERNAL:
            continue
        by = (
            "you"
            if logged.actor_user_id == member.telegram_user_id
            else ("staff" if logged.actor_user_id is not None else "system")
        )
        details = {k: v for k, v in (logged.details or {}).items() if k in _AUDIT_DETAILS}
        activity.append(
            {"at": iso(logged.at), "action": logged.action, "subject": logged.subject, "by": by, "details": details}
        )

    data: dict[str, Any] = {
        "about": {
            "format": "redeem-bot personal data export",
            "format_version": EXPORT_FORMAT,
            "exported_at": iso(now),
            "member_number": member.id,
        },
        "profile": {
            "telegram_user_id": member.telegram_user_id,
            "chat_id": member.chat_id,
            "username": member.username,
            "language": member.language,
            "email": member.email,
            "email_shared_allowed": member.email_shared_allowed,
            "email_verified_at": iso(member.email_verified_at),
            "email_undeliverable_at": iso(member.email_undeliverable_at),
            "email_copies": member.email_copies,
            "first_name": member.first_name,
            "last_name": member.last_name,
            "country": member.country,
            "phone": member.phone,
            "profile_completed_at": iso(member.profile_completed_at),
            "bot_blocked_at": iso(member.bot_blocked_at),
            "created_at": iso(member.created_at),
            "updated_at": iso(member.updated_at),
        },
        "consent": {
            "privacy_policy_accepted_at": iso(member.consent_at),
            "privacy_policy_declined_at": iso(member.consent_refused_at),
            "newsletter": member.newsletter,
        },
        "products": product_rows,
        "claims": claim_rows,
        "serial_attempts": [{"serial": a.serial, "kind": a.kind, "at": iso(a.at)} for a in attempts],
        "journey_in_progress": conversation,
        "support_messages": await support.export_rows(session, member.id),
        "messages_queued_for_you": message_rows,
        "photo_fingerprints": fingerprint_rows,
        "activity_log": activity,
        "photos": [p.name for p in photos.photos],
    }
    await audit.record(
        session,
        now=now,
        actor_user_id=member.telegram_user_id,
        action="member.exported",
        subject=f"member:{member.id}",
        details={"photos": len(photos.photos), "claims": len(claims), "products": len(products)},
    )
    return MemberExport(data, photos.photos)
