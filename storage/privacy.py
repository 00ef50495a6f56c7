"""The customer's own data: export everything we hold (/mydata), erase it (/deleteme), and the
retention of photos of decided claims.

Plain async functions over a session (they flush, never commit) plus two pure helpers that
build the export files. Files go through a `Files` object (storage.media.MediaStore fits), so this
module knows nothing of Telegram nor of where files live.

Decisions, written down (README "Your data (/mydata, /deleteme) and retention" says the same):

* **Export** (`export_member`): the profile, consent dates, products, claims with their items,
  status, decision reason, code and history, failed serial attempts, the journey in progress,
  the messages the bot queued for them, their photos' fingerprints and the audit entries about
  them. Never: other members (an audit entry whose `member_id` is someone else's is left out,
  `owner_member_id` is dropped), staff identities (who decided is "staff"), staff-internal
  entries (refused staff attempts). Photos go into a zip, split into parts below Telegram's
  50 MB (`pack_photos`).
* **Erasure** (`erase_member`) keeps the member row, detached and anonymised: its
  `telegram_user_id` and `chat_id` become the tombstone `-member.id` (Telegram ids are positive,
  so it never collides and the unique key is free for the person to /start again as a new
  member). Erased: e-mail, names, phone, username, newsletter, shipping addresses, the journey
  in progress, the messages to their chat in the outbox, their photos (files and paths; a file
  another row still points at stays, content-addressed store). Kept: `country` (the vendor
  accounts for prizes per country and the country-of-residence rule), language, consent and
  profile dates (evidence of what the earlier processing rested on), claims with order id,
  promotion, status, decisions, reason, assigned code, attempts and history, products that were
  part of a claim with serial, model, store, purchase date, channel, invoice number and the
  photo hashes (so "a serial registered once", "an invoice number + store used once" and
  "the same photo from two accounts" still hold), and failed serial attempts. A claim's e-mail is
  replaced by `email_token()` (a one-way hash), so it no longer reads as an address but the same
  address can still be recognised for the per-e-mail cap. Products never part of a claim are
  deleted outright (nothing to account for, and the person can register them again). Claims in
  review or waiting for missing information are withdrawn: final rejection, reason code
  `withdrawn`, reason "withdrawn by the customer". The person's Telegram id in the history
  (claim events, audit entries) becomes the tombstone.
* **Retention** (`expire_photos`): the S/N photos of claims approved or finally rejected more
  than N days ago, and the invoice of a product whose claims are all such, are deleted (files and
  paths). Missing-information claims are not decided (the customer may still redeem again).
  A file still used by any row (another claim item, a product's invoice, a journey in progress)
  is kept; fingerprints keep their hashes and lose the path with the file.

Files are deleted before the transaction commits: if the commit failed, rows would point at
files already gone (which every reader tolerates), never the other way round (personal data
left on disk with nothing pointing at it).
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Text, cast, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import audit, outbox
from storage.claims import email_token
from storage.models import (
    ActivationCode,
    AuditEntry,
    CatalogueProduct,
    Claim,
    ClaimEvent,
    ClaimItem,
    ClaimStatus,
    ConversationState,
    ImageFingerprint,
    Member,
    OutboxMessage,
    OutboxStatus,
    Promotion,
    RegisteredProduct,
    SerialAttempt,
)

__all__ = [
    "DECIDED", "EXPORT_FORMAT", "Erasure", "ErasurePreview", "ExportPhoto", "Files", "MemberExport",
    "RetentionResult", "WITHDRAWN_CODE", "WITHDRAWN_REASON", "ZIP_PART_LIMIT", "email_token",
    "erase_member", "expire_photos", "export_json", "export_member", "pack_photos", "preview_erasure",
    "still_referenced", "tombstone_id",
]

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1
ZIP_PART_LIMIT = 49 * 1024 * 1024  # Telegram bots may send documents up to 50 MB; keep a margin
WITHDRAWN_CODE = "withdrawn"
WITHDRAWN_REASON = "withdrawn by the customer"
OPEN = (ClaimStatus.REVIEW, ClaimStatus.MISSING_INFO)  # withdrawn on erasure; never expired
DECIDED = (ClaimStatus.APPROVED, ClaimStatus.REJECTED)  # final: their photos expire
MEDIA_PATH = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.jpg$")  # storage.media's layout
ERASED = "—"  # what replaces a personal value inside a staff notice already queued

# Audit details a customer may see about themselves; anything else (other members, staff names,
# chat ids) stays out of the export.
_AUDIT_DETAILS = frozenset({
    "promotion", "model", "reason", "reason_code", "fixable", "code_assigned", "given",
    "previous_status", "old_path", "new_path", "sha256", "kind", "error",
})
_STAFF_INTERNAL = frozenset({"claim.decision_refused"})


class Files(Protocol):
    """Where photos live (storage.media.MediaStore)."""

    def read(self, relative_path: str) -> bytes: ...

    def delete(self, relative_path: str) -> None: ...


def tombstone_id(member_id: int) -> int:
    """What replaces an erased member's Telegram user and chat id: negative, so never a real user."""
    return -abs(member_id)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


# ============================================================================ export


@dataclass(frozen=True)
class ExportPhoto:
    name: str  # file name inside the zip
    path: str  # MediaStore relative path


@dataclass
class MemberExport:
    data: dict[str, Any]
    photos: list[ExportPhoto] = field(default_factory=list)


def _paths_in(value: Any) -> list[str]:
    """Media paths anywhere inside a JSON value (a journey's answers hold drafts' photos)."""
    if isinstance(value, str):
        return [value] if MEDIA_PATH.match(value) else []
    if isinstance(value, dict):
        return [p for v in value.values() for p in _paths_in(v)]
    if isinstance(value, list):
        return [p for v in value for p in _paths_in(v)]
    return []


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


def _promotion_name(promotion: Promotion, language: str) -> str:
    names = promotion.names or {}
    return str(names.get(language) or names.get("en") or promotion.slug)


async def _claims_of(session: AsyncSession, member_id: int) -> list[Claim]:
    query = select(Claim).where(Claim.member_id == member_id).options(selectinload(Claim.items)).order_by(Claim.submitted_at, Claim.id)
    return list((await session.scalars(query)).all())


async def _products_of(session: AsyncSession, member_id: int) -> list[RegisteredProduct]:
    query = select(RegisteredProduct).where(RegisteredProduct.member_id == member_id).order_by(RegisteredProduct.id)
    return list((await session.scalars(query)).all())


async def _replaced_invoices(session: AsyncSession, product_ids: list[int]) -> list[str]:
    """Invoice files a product pointed at before a replacement (kept on disk by storage.products)."""
    if not product_ids:
        return []
    subjects = [f"registered_product:{pid}" for pid in product_ids]
    rows = (await session.scalars(select(AuditEntry.details).where(AuditEntry.action == "invoice_replaced", AuditEntry.subject.in_(subjects)))).all()
    return [p for details in rows for p in _paths_in([(details or {}).get("old_path"), (details or {}).get("new_path")])]


async def _audit_about(session: AsyncSession, member: Member, subjects: set[str]) -> list[AuditEntry]:
    """Audit entries done by the member or about their claims, products and serials."""
    conditions = [AuditEntry.actor_user_id == member.telegram_user_id]
    if subjects:
        conditions.append(AuditEntry.subject.in_(sorted(subjects)))
    rows = (await session.scalars(select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.at, AuditEntry.id))).all()
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
    products = await _products_of(session, member.id)
    claims = await _claims_of(session, member.id)
    by_product = {p.id: p for p in products}

    product_rows = []
    for product in products:
        catalogue: CatalogueProduct = product.catalogue_product
        product_rows.append({
            "id": product.id,
            "category": catalogue.category,
            "product": catalogue.name,
            "model": catalogue.model,
            "serial": product.serial,
            "warranty_months": catalogue.warranty_months,
            "purchase_country": product.purchase_country,
            "store": product.store_name,
            "purchase_date": _iso(product.purchase_date),
            "where_purchased": product.channel,
            "invoice_number": product.invoice_number,
            "invoice_photo": photos.add(product.invoice_path, f"invoices/{_safe(product.serial)}.jpg"),
            "invoice_sha256": product.invoice_sha256,
            "registered_at": _iso(product.registered_at),
        })

    claim_ids = [c.id for c in claims]
    codes: dict[int, str] = {}
    events: dict[int, list[ClaimEvent]] = {}
    if claim_ids:
        for claim_id, code in (await session.execute(select(ActivationCode.claim_id, ActivationCode.code).where(ActivationCode.claim_id.in_(claim_ids)))).all():
            codes[int(claim_id)] = code
        for event in (await session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id.in_(claim_ids)).order_by(ClaimEvent.at, ClaimEvent.id))).all():
            events.setdefault(event.claim_id, []).append(event)
    claim_rows = []
    for claim in claims:
        promotion = await session.get(Promotion, claim.promotion_id)
        assert promotion is not None
        items = []
        for item in claim.items:
            product = by_product.get(item.registered_product_id) or await session.get(RegisteredProduct, item.registered_product_id)
            serial = product.serial if product is not None else str(item.registered_product_id)
            items.append({
                "product_id": item.registered_product_id,
                "serial": serial,
                "sn_photo": photos.add(item.sn_photo_path, f"sn_photos/{claim.order_id}_{_safe(serial)}.jpg"),
                "sn_photo_sha256": item.sn_photo_sha256,
            })
        history = []
        for event in events.get(claim.id, []):
            details = event.details or {}
            entry: dict[str, Any] = {"at": _iso(event.at), "event": event.kind}
            for key in ("reason", "reason_code", "code"):
                if details.get(key):
                    entry[key] = details[key]
            history.append(entry)
        claim_rows.append({
            "order_id": claim.order_id,
            "promotion": promotion.slug,
            "promotion_name": _promotion_name(promotion, language),
            "prize_kind": promotion.prize_kind,
            "status": claim.status,
            "submitted_at": _iso(claim.submitted_at),
            "attempt": claim.attempt,
            "email": claim.email,
            "lucky_draw_opt_in": claim.lucky_draw_opt_in,
            "shipping_address": claim.shipping_address,
            "decided_at": _iso(claim.decided_at),
            "decision_reason": claim.reason,
            "decision_reason_code": claim.reason_code,
            "activation_code": codes.get(claim.id),
            "items": items,
            "history": history,
        })

    for path in await _replaced_invoices(session, list(by_product)):
        photos.add(path, f"earlier_photos/{path.rsplit('/', 1)[-1][:16]}.jpg")

    attempts = (await session.scalars(select(SerialAttempt).where(SerialAttempt.member_id == member.id).order_by(SerialAttempt.at, SerialAttempt.id))).all()

    state = await session.get(ConversationState, member.telegram_user_id)
    conversation = None
    if state is not None:
        answers = {k: v for k, v in (state.data or {}).items() if not str(k).startswith("_")}
        for path in _paths_in(answers):
            photos.add(path, f"unfinished/{path.rsplit('/', 1)[-1][:16]}.jpg")
        conversation = {"journey": state.flow, "step": state.step, "answers": answers, "updated_at": _iso(state.updated_at), "reminded_at": _iso(state.reminded_at)}

    messages = (await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == member.chat_id).order_by(OutboxMessage.id))).all()
    message_rows = [
        {
            "queued_at": _iso(m.created_at),
            "sent_at": _iso(m.sent_at),
            "status": m.status,
            "kind": m.kind,
            "message": (m.payload or {}).get("key"),
            "values": (m.payload or {}).get("values") or {},
        }
        for m in messages
    ]

    fingerprints = (await session.scalars(select(ImageFingerprint).where(ImageFingerprint.member_id == member.id).order_by(ImageFingerprint.id))).all()
    order_of = {c.id: c.order_id for c in claims}
    fingerprint_rows = []
    for fp in fingerprints:
        name = photos.add(fp.path, f"earlier_photos/{fp.sha256[:16]}.jpg")
        fingerprint_rows.append({
            "kind": fp.kind,
            "sha256": fp.sha256,
            "perceptual_hash": fp.phash,
            "product_id": fp.registered_product_id,
            "order_id": order_of.get(fp.claim_id) if fp.claim_id is not None else None,
            "photo": name,
            "created_at": _iso(fp.created_at),
        })

    subjects = {c.order_id for c in claims} | {p.serial for p in products} | {a.serial for a in attempts}
    subjects |= {f"registered_product:{pid}" for pid in by_product} | {str(member.chat_id), f"member:{member.id}"}
    activity = []
    for entry in await _audit_about(session, member, subjects):
        if entry.action in _STAFF_INTERNAL:
            continue
        by = "you" if entry.actor_user_id == member.telegram_user_id else ("staff" if entry.actor_user_id is not None else "system")
        details = {k: v for k, v in (entry.details or {}).items() if k in _AUDIT_DETAILS}
        activity.append({"at": _iso(entry.at), "action": entry.action, "subject": entry.subject, "by": by, "details": details})

    data: dict[str, Any] = {
        "about": {"format": "redeem-bot personal data export", "format_version": EXPORT_FORMAT, "exported_at": _iso(now), "member_number": member.id},
        "profile": {
            "telegram_user_id": member.telegram_user_id,
            "chat_id": member.chat_id,
            "username": member.username,
            "language": member.language,
            "email": member.email,
            "email_shared_allowed": member.email_shared_allowed,
            "first_name": member.first_name,
            "last_name": member.last_name,
            "country": member.country,
            "phone": member.phone,
            "profile_completed_at": _iso(member.profile_completed_at),
            "bot_blocked_at": _iso(member.bot_blocked_at),
            "created_at": _iso(member.created_at),
            "updated_at": _iso(member.updated_at),
        },
        "consent": {
            "privacy_policy_accepted_at": _iso(member.consent_at),
            "privacy_policy_declined_at": _iso(member.consent_refused_at),
            "newsletter": member.newsletter,
        },
        "products": product_rows,
        "claims": claim_rows,
        "serial_attempts": [{"serial": a.serial, "kind": a.kind, "at": _iso(a.at)} for a in attempts],
        "journey_in_progress": conversation,
        "messages_queued_for_you": message_rows,
        "photo_fingerprints": fingerprint_rows,
        "activity_log": activity,
        "photos": [p.name for p in photos.photos],
    }
    await audit.record(session, now=now, actor_user_id=member.telegram_user_id, action="member.exported", subject=f"member:{member.id}", details={"photos": len(photos.photos), "claims": len(claims), "products": len(products)})
    return MemberExport(data, photos.photos)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def export_json(export: MemberExport) -> bytes:
    """The export as pretty UTF-8 JSON."""
    return json.dumps(export.data, ensure_ascii=False, indent=2, default=_json_default).encode()


_ZIP_END = 22  # end-of-central-directory record
_ZIP_ENTRY = 30 + 46 + 64  # local header + central directory entry + room for extra fields


def pack_photos(photos: list[ExportPhoto], read: Any, *, limit: int = ZIP_PART_LIMIT, when: datetime | None = None) -> list[bytes]:
    """The photos as one zip, or several parts each at most `limit` bytes (in order).

    Stored, not deflated (JPEGs do not shrink), so sizes are known before writing. A file that
    is missing on disk is left out (logged). Blocking I/O: run it in a thread.
    """
    stamp = (when or datetime(2026, 1, 1)).timetuple()[:6]
    entries: list[tuple[str, bytes]] = []
    for photo in photos:
        try:
            entries.append((photo.name, read(photo.path)))
        except (OSError, ValueError) as exc:
            log.warning("export: photo %s is missing (%s)", photo.path, exc)
    groups: list[list[tuple[str, bytes]]] = []
    current: list[tuple[str, bytes]] = []
    size = _ZIP_END
    for name, data in entries:
        cost = _ZIP_ENTRY + 2 * len(name.encode()) + len(data)
        if current and size + cost > limit:
            groups.append(current)
            current, size = [], _ZIP_END
        current.append((name, data))
        size += cost
    if current:
        groups.append(current)
    parts = []
    for group in groups:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for name, data in group:
                archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data)  # type: ignore[arg-type]
        parts.append(buffer.getvalue())
    return parts


# ============================================================================ references


async def still_referenced(session: AsyncSession, path: str) -> bool:
    """True while a row still uses the stored file `path`: a product's invoice, a claim's S/N
    photo, or a journey in progress (content-addressed: the same photo may serve several
    products, claims or members). A fingerprint does not keep a file: its hashes are enough."""
    checks = (
        exists().where(RegisteredProduct.invoice_path == path),
        exists().where(ClaimItem.sn_photo_path == path),
        exists().where(cast(ConversationState.data, Text).contains(path, autoescape=True)),
    )
    for check in checks:
        if await session.scalar(select(check)):
            return True
    return False


async def _delete_unreferenced(session: AsyncSession, paths: set[str], files: Files) -> list[str]:
    """Deletes each file no row uses any more (call after the rows were changed); fingerprints
    that pointed at a deleted file lose the path and keep their hashes."""
    await session.flush()
    deleted = []
    for path in sorted(paths):
        if await still_referenced(session, path):
            continue
        await session.execute(update(ImageFingerprint).where(ImageFingerprint.path == path).values(path=None).execution_options(synchronize_session=False))
        try:
            files.delete(path)
        except (OSError, ValueError) as exc:
            log.warning("could not delete photo %s: %s", path, exc)
            continue
        deleted.append(path)
    return deleted


# ============================================================================ erasure


@dataclass
class ErasurePreview:
    """What /deleteme will do, for the confirmation question."""

    claims: int
    withdrawn: list[str]  # order ids in review or missing information
    products: int


async def preview_erasure(session: AsyncSession, member: Member) -> ErasurePreview:
    claims = await _claims_of(session, member.id)
    products = await _products_of(session, member.id)
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
        return {k: (tombstone if k == "user_id" and v == tg_id else _scrub(v, personal, tg_id, tombstone)) for k, v in value.items()}
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
    claims = await _claims_of(session, member.id)
    products = await _products_of(session, member.id)
    claim_ids = [c.id for c in claims]
    claimed_products = {item.registered_product_id for c in claims for item in c.items}

    # -- photos: every file the member's rows point at, now or before
    paths: set[str] = set()
    paths.update(p.invoice_path for p in products if p.invoice_path)
    paths.update(i.sn_photo_path for c in claims for i in c.items if i.sn_photo_path)
    paths.update(await _replaced_invoices(session, [p.id for p in products]))
    fingerprints = (await session.scalars(select(ImageFingerprint).where(ImageFingerprint.member_id == member.id))).all()
    paths.update(fp.path for fp in fingerprints if fp.path)
    state = await session.get(ConversationState, tg_id)
    if state is not None:
        paths.update(_paths_in(state.data or {}))
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
                .values(status=ClaimStatus.REJECTED, decided_at=now, decided_by=None, reason=WITHDRAWN_REASON, reason_code=WITHDRAWN_CODE)
                .execution_options(synchronize_session=False)
            )
            await session.refresh(claim, attribute_names=["status", "decided_at", "decided_by", "reason", "reason_code"])
            if result.rowcount == 1:  # type: ignore[attr-defined]
                withdrawn.append(claim.order_id)
                session.add(ClaimEvent(claim_id=claim.id, at=now, kind="withdrawn", actor_user_id=tombstone, details={"reason": WITHDRAWN_REASON, "reason_code": WITHDRAWN_CODE, "previous_status": previous}))
        claim.shipping_address = None
        if not claim.email.startswith("erased:"):
            claim.email = email_token(claim.email)
        for item in claim.items:
            item.sn_photo_path = None
    if claim_ids:
        await session.execute(update(ClaimEvent).where(ClaimEvent.claim_id.in_(claim_ids), ClaimEvent.actor_user_id == tg_id).values(actor_user_id=tombstone).execution_options(synchronize_session=False))

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
    await session.execute(delete(OutboxMessage).where(OutboxMessage.chat_id == chat_id, OutboxMessage.status != OutboxStatus.SENDING))
    personal = {v for v in (member.email, member.phone, member.username) if v}
    full_name = " ".join(v for v in (member.first_name, member.last_name) if v)
    if full_name:
        personal.add(full_name)
    if member.email:
        queued = (await session.scalars(select(OutboxMessage).where(cast(OutboxMessage.payload, Text).contains(member.email, autoescape=True)))).all()
        for message in queued:
            message.payload = _scrub(dict(message.payload or {}), personal, tg_id, tombstone)

    # -- the audit trail keeps what happened, not who in Telegram terms
    subjects = {c.order_id for c in claims} | {f"registered_product:{p.id}" for p in products} | {p.serial for p in products}
    await session.execute(
        update(AuditEntry)
        .where(AuditEntry.actor_user_id == tg_id, or_(AuditEntry.subject.in_(sorted(subjects)), AuditEntry.action.in_(("staff.refused", "member.exported"))))
        .values(actor_user_id=tombstone)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(AuditEntry).where(AuditEntry.action == "delivery.undeliverable", AuditEntry.subject == str(chat_id)).values(subject=str(tombstone)).execution_options(synchronize_session=False)
    )

    # -- the member row, detached: the same person may /start again as a new member
    member.telegram_user_id = member.chat_id = tombstone
    member.username = member.email = member.first_name = member.last_name = member.phone = None
    member.newsletter = member.email_shared_allowed = False
    member.bot_blocked_at = None
    member.deleted_at = member.updated_at = now
    await session.flush()

    files_deleted = await _delete_unreferenced(session, paths, files)
    order_ids = [c.order_id for c in claims]
    await audit.record(
        session, now=now, actor_user_id=tombstone, action="member.erased", subject=f"member:{member.id}",
        details={"order_ids": order_ids, "withdrawn": withdrawn, "products_kept": kept, "products_deleted": deleted, "files_deleted": len(files_deleted)},
    )
    if staff_chat_id is not None:
        values = {"member": member.id, "claims": len(order_ids), "order_ids": ", ".join(order_ids) or ERASED, "withdrawn": ", ".join(withdrawn) or ERASED}
        await outbox.enqueue(session, chat_id=staff_chat_id, kind="staff_notice", key="mydata.staff.erased", language=staff_language, values=values, now=now)
    await session.flush()
    return Erasure(member.id, order_ids, withdrawn, kept, deleted, files_deleted)


# ============================================================================ retention


@dataclass
class RetentionResult:
    sn_photos: int = 0  # claim items whose S/N photo path was cleared
    invoices: int = 0  # products whose invoice path was cleared
    files_deleted: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.sn_photos + self.invoices


async def expire_photos(session: AsyncSession, *, now: datetime, days: int, files: Files, limit: int = 500) -> RetentionResult:
    """Deletes the photos of claims decided (approved or finally rejected) more than `days` ago:
    their S/N photos, and the invoices of products whose every claim is such. At most `limit`
    rows of each kind per call (call again while `rows` is not 0). `days <= 0` keeps everything."""
    result = RetentionResult()
    if days <= 0:
        return result
    cutoff = now - timedelta(days=days)
    old = (Claim.status.in_(DECIDED), Claim.decided_at.is_not(None), Claim.decided_at <= cutoff)
    items = (
        await session.execute(
            select(ClaimItem, Claim.order_id).join(Claim, Claim.id == ClaimItem.claim_id).where(ClaimItem.sn_photo_path.is_not(None), *old).order_by(ClaimItem.id).limit(limit)
        )
    ).all()
    paths: set[str] = set()
    orders: set[str] = set()
    for item, order_id in items:
        assert item.sn_photo_path is not None
        paths.add(item.sn_photo_path)
        orders.add(order_id)
        item.sn_photo_path = None
    result.sn_photos = len(items)

    in_old_claim = exists().where(ClaimItem.registered_product_id == RegisteredProduct.id, ClaimItem.claim_id == Claim.id, *old)
    in_other_claim = exists().where(
        ClaimItem.registered_product_id == RegisteredProduct.id,
        ClaimItem.claim_id == Claim.id,
        or_(Claim.status.not_in(DECIDED), Claim.decided_at.is_(None), Claim.decided_at > cutoff),
    )
    products = (
        await session.scalars(select(RegisteredProduct).where(RegisteredProduct.invoice_path.is_not(None), in_old_claim, ~in_other_claim).order_by(RegisteredProduct.id).limit(limit))
    ).all()
    for product in products:
        assert product.invoice_path is not None
        paths.add(product.invoice_path)
        product.invoice_path = None
    result.invoices = len(products)
    if not result.rows:
        return result
    result.files_deleted = await _delete_unreferenced(session, paths, files)
    result.order_ids = sorted(orders)
    await audit.record(
        session, now=now, actor_user_id=None, action="retention.photos_deleted", subject=f"{days}d",
        details={"sn_photos": result.sn_photos, "invoices": result.invoices, "files_deleted": len(result.files_deleted), "order_ids": result.order_ids, "product_ids": [p.id for p in products]},
    )
    return result
