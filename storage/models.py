"""The database schema as typed SQLAlchemy models. Every time is UTC-aware."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.mailboxes import mailbox_key
from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Category(enum.StrEnum):
    """The ten product categories of the vendor's guide."""

    LAPTOP = "laptop"
    AIO = "aio"
    DESKTOP = "desktop"
    MONITOR = "monitor"
    MOTHERBOARD = "motherboard"
    GRAPHICS_CARD = "graphics_card"
    PC_CASE = "pc_case"
    GAMING_GEAR = "gaming_gear"
    GAMING_CHAIR = "gaming_chair"
    LIQUID_COOLING = "liquid_cooling"


class Channel(enum.StrEnum):
    RETAIL = "retail"
    ONLINE = "online"
    RESELLER = "reseller"


class ClaimStatus(enum.StrEnum):
    REVIEW = "review"
    MISSING_INFO = "missing_info"  # fixable: the customer may redeem again
    REJECTED = "rejected"  # final
    APPROVED = "approved"


class PrizeKind(enum.StrEnum):
    DIGITAL_CODE = "digital_code"
    CASHBACK = "cashback"
    PHYSICAL = "physical"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # its request is under way; after a crash it is sent again
    SENT = "sent"
    FAILED = "failed"


class Member(Base):
    """A customer; the Telegram account is the login."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16), default="en")
    consent_at: Mapped[datetime | None]
    consent_refused_at: Mapped[datetime | None]
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    email_shared_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    email_verified_at: Mapped[datetime | None]  # the right code was typed for `email` (storage.email_verification)
    email_undeliverable_at: Mapped[datetime | None]  # a mail server refused `email` for good (5xx)
    email_copies: Mapped[bool] = mapped_column(Boolean, default=False)  # a copy of each decision by e-mail
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(32))
    newsletter: Mapped[bool] = mapped_column(Boolean, default=False)
    profile_completed_at: Mapped[datetime | None]
    bot_blocked_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    products: Mapped[list[RegisteredProduct]] = relationship(back_populates="member")


class CatalogueProduct(Base):
    """A model the vendor sells, with how its serials look and how long its warranty runs."""

    __tablename__ = "catalogue_products"
    __table_args__ = (UniqueConstraint("model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(120))
    model: Mapped[str] = mapped_column(String(64))
    warranty_months: Mapped[int] = mapped_column(Integer, default=24)
    launch_date: Mapped[date | None] = mapped_column(Date)
    serial_pattern: Mapped[str | None] = mapped_column(String(200))
    chk_mode: Mapped[str] = mapped_column(String(8), default="list")  # "list" or "keyed"


class CatalogueVersion(Base):
    """One row, bumped by every catalogue load, so each process knows when its in-memory
    catalogue is stale (storage/catalogue_cache.py)."""

    __tablename__ = "catalogue_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime]


class CatalogueSerial(Base):
    """An individual serial the vendor shipped, with the CHK printed beside it."""

    __tablename__ = "catalogue_serials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("catalogue_products.id", ondelete="CASCADE"))
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    chk: Mapped[str | None] = mapped_column(String(3))


class Store(Base):
    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("country", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(120))


class RegisteredProduct(Base):
    """A product a member registered; a serial can be registered once."""

    __tablename__ = "registered_products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    catalogue_product_id: Mapped[int] = mapped_column(ForeignKey("catalogue_products.id"))
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    purchase_country: Mapped[str] = mapped_column(String(2))
    store_name: Mapped[str] = mapped_column(String(120))
    purchase_date: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    invoice_path: Mapped[str | None] = mapped_column(String(200))
    invoice_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    invoice_number: Mapped[str | None] = mapped_column(String(64))
    registered_at: Mapped[datetime]

    member: Mapped[Member] = relationship(back_populates="products")
    catalogue_product: Mapped[CatalogueProduct] = relationship(lazy="joined")


class SerialAttempt(Base):
    """Failed CHK tries and refused duplicates, for the lockout rule and for staff."""

    __tablename__ = "serial_attempts"
    __table_args__ = (
        Index("ix_serial_attempts_lookup", "member_id", "serial", "at"),
        Index("ix_serial_attempts_serial_kind", "serial", "kind"),  # other accounts' attempts (staff card)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    serial: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # "wrong_chk" | "duplicate"
    at: Mapped[datetime]


class Promotion(Base):
    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    invoice_from: Mapped[date] = mapped_column(Date)
    invoice_to: Mapped[date] = mapped_column(Date)
    redeem_limit_per_email: Mapped[int] = mapped_column(Integer, default=1)
    eligible_models: Mapped[list[Any]] = mapped_column(JSON)
    eligible_countries: Mapped[list[Any]] = mapped_column(JSON)
    prize_kind: Mapped[str] = mapped_column(String(16))
    cashback_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    prize_description: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    landing_url: Mapped[str | None] = mapped_column(String(300))
    guide_url: Mapped[str | None] = mapped_column(String(300))
    lucky_draw: Mapped[bool] = mapped_column(Boolean, default=False)
    draw_prize: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    draw_date: Mapped[date | None] = mapped_column(Date)
    processing_days_min: Mapped[int] = mapped_column(Integer, default=7)
    processing_days_max: Mapped[int] = mapped_column(Integer, default=14)
    code_pattern: Mapped[str] = mapped_column(String(200), default=r"^[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}$")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Rules seen in the field; each is off when unset.
    cooling_off_days: Mapped[int | None] = mapped_column(Integer)  # a claim counts only N days after purchase
    household_limit: Mapped[int | None] = mapped_column(Integer)  # prizes per shipping address
    redeem_deadline: Mapped[date | None] = mapped_column(Date)  # claims accepted until, after the purchase period
    residence_only: Mapped[bool] = mapped_column(Boolean, default=False)  # bought in the country one lives in
    while_stock_lasts: Mapped[bool] = mapped_column(Boolean, default=False)  # closes when codes or stock run out
    prize_stock: Mapped[int | None] = mapped_column(Integer)  # physical prizes available
    draw_answer_days: Mapped[int] = mapped_column(
        Integer, default=14
    )  # days a lucky-draw winner has to claim the prize
    draw_prize_ships: Mapped[bool] = mapped_column(Boolean, default=True)  # the winner is asked for an address
    # Admin controls from the staff chat (storage/promotion_controls.py); all unset while it runs normally.
    paused_at: Mapped[datetime | None]  # no claims while paused
    paused_until: Mapped[date | None] = mapped_column(Date)  # claims again from this day; None: until resumed
    ended_at: Mapped[datetime | None]  # ended early, for good


class Claim(Base):
    """A redemption: one member, one promotion, one or more registered products."""

    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(12), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    # the mailbox the redeem limit counts (storage.mailboxes.mailbox_key; an `erased:` token after /deleteme)
    email_key: Mapped[str | None] = mapped_column(
        String(254), index=True, default=lambda context: mailbox_key(context.get_current_parameters()["email"])
    )
    status: Mapped[str] = mapped_column(String(16), default=ClaimStatus.REVIEW)
    lucky_draw_opt_in: Mapped[bool | None]
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    submitted_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(48))  # a canned reason, shown in the customer's language
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    halfway_notified_at: Mapped[datetime | None]  # the customer was told it is being looked at
    overdue_posted_at: Mapped[datetime | None]  # staff were shown it again after its promised date

    items: Mapped[list[ClaimItem]] = relationship(back_populates="claim", cascade="all, delete-orphan")


class ClaimItem(Base):
    __tablename__ = "claim_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    registered_product_id: Mapped[int] = mapped_column(ForeignKey("registered_products.id"), index=True)
    sn_photo_path: Mapped[str | None] = mapped_column(String(200))
    sn_photo_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    label_serials: Mapped[list[Any] | None] = mapped_column(JSON)  # read from the S/N photo's barcode

    claim: Mapped[Claim] = relationship(back_populates="items")


class ClaimEvent(Base):
    """The history of a claim: submissions, decisions, re-submissions."""

    __tablename__ = "claim_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(24))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FulfilmentState(enum.StrEnum):
    """Where an approved prize is after the approval (digital codes are done at approval)."""

    APPROVED = "approved"  # waiting for the payment or the parcel
    PAID = "paid"  # cashback: paid, with date and reference
    SHIPPED = "shipped"  # physical: handed to the carrier, with tracking
    DELIVERED = "delivered"  # physical: the carrier says it arrived


class Fulfilment(Base):
    """What happens to a claim's prize after approval: the payout details (cashback), the payment,
    the parcel. `purpose` is "prize" (the promotion's prize) or "draw" (a lucky-draw win of the claim).

    Payout details are personal data kept only as long as needed: erased by /deleteme and after the
    payment + PAYOUT_RETENTION_DAYS (storage.fulfilment)."""

    __tablename__ = "fulfilments"
    __table_args__ = (UniqueConstraint("claim_id", "purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(8), default="prize")
    state: Mapped[str] = mapped_column(String(16), default=FulfilmentState.APPROVED)
    payout: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"method": "iban"|"account"|"ewallet", …}
    payout_erased_at: Mapped[datetime | None]
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a lucky-draw prize's shipping address
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(64))
    carrier: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    shipped_on: Mapped[date | None] = mapped_column(Date)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime]


class ActivationCode(Base):
    __tablename__ = "activation_codes"
    __table_args__ = (UniqueConstraint("promotion_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), unique=True)
    assigned_at: Mapped[datetime | None]
    imported_at: Mapped[datetime]


class OutboxMessage(Base):
    """A message to send, committed with the decision that caused it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_pending", "status", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)  # first message sent, e.g. the review card
    claimed_at: Mapped[datetime | None]  # when it went SENDING, right before its request
    claimed_by: Mapped[str | None] = mapped_column(String(128))  # the dispatcher that sent it
    last_error: Mapped[str | None] = mapped_column(Text)


class EmailCode(Base):
    """A verification code mailed to an address; only its hash is kept (the mail carries the code)."""

    __tablename__ = "email_codes"
    __table_args__ = (
        Index("ix_email_codes_member", "member_id", "created_at"),
        Index("ix_email_codes_address", "address_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    address: Mapped[str] = mapped_column(String(254))  # as the customer typed it (lower case): where it went
    address_key: Mapped[str] = mapped_column(String(254))  # the mailbox, for the per-address limit
    code_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]  # used, or replaced by a newer code


class EmailAttempt(Base):
    """A wrong verification code typed, for the lock-out (5 in an hour lock the address for the account)."""

    __tablename__ = "email_attempts"
    __table_args__ = (Index("ix_email_attempts_lookup", "member_id", "address_key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    address_key: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime]


class MailMessage(Base):
    """An e-mail to send (the outbox's e-mail channel), committed with the change that caused it."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # where the customer hears of a refusal
    to_address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))  # "code" | "decision"
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # locale keys, language and values
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Lease(Base):
    """A job one live process does at a time (the outbox's sending), kept by a heartbeat."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None]
    acquired_at: Mapped[datetime | None]


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str | None] = mapped_column(String(120))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ConversationState(Base):
    """Where a user is in a journey and what they answered so far; survives restarts."""

    __tablename__ = "conversation_states"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None]


class StaffMember(Base):
    """Staff added by an admin in the chat (those in STAFF_USER_IDS need no row)."""

    __tablename__ = "staff_members"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64))
    added_by: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[datetime]


class CannedReason(Base):
    """A rejection reason staff added, with its text per language."""

    __tablename__ = "canned_reasons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    fixable: Mapped[bool] = mapped_column(Boolean, default=True)
    added_by: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[datetime]


class Draw(Base):
    """A lucky draw: the seed's hash is published first, the seed after, so anyone can re-run it."""

    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), index=True)
    winners_wanted: Mapped[int] = mapped_column(Integer)
    reserves_wanted: Mapped[int] = mapped_column(Integer, default=0)
    seed_sha256: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(String(64))  # revealed when drawn
    committed_at: Mapped[datetime]
    drawn_at: Mapped[datetime | None]
    entrants: Mapped[list[Any]] = mapped_column(JSON, default=list)  # order ids, sorted, as drawn from
    winners: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reserves: Mapped[list[Any]] = mapped_column(JSON, default=list)
    drawn_by: Mapped[int | None] = mapped_column(BigInteger)
    # Each winner's answer, and the reserves called in for those who did not answer (see
    # storage.draw: "Answers and reserves"). NULL for draws made before answers were tracked.
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    answer_due_at: Mapped[datetime | None]  # the earliest deadline of a winner still to answer; NULL when none


class ImageFingerprint(Base):
    """A customer photo's exact and perceptual hashes, for the duplicate-photo fraud signal.

    `phash` is the 64-bit DCT hash of storage.fingerprints (signed, so it fits BIGINT);
    band0..band3 are its four 16-bit slices (band0 = the low bits), each indexed, so a
    near-copy lookup is a handful of indexed equality queries (see storage.fingerprints).
    """

    __tablename__ = "image_fingerprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    phash: Mapped[int] = mapped_column(BigInteger)
    band0: Mapped[int] = mapped_column(Integer, index=True)
    band1: Mapped[int] = mapped_column(Integer, index=True)
    band2: Mapped[int] = mapped_column(Integer, index=True)
    band3: Mapped[int] = mapped_column(Integer, index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "invoice" | "sn_photo"
    registered_product_id: Mapped[int | None] = mapped_column(ForeignKey("registered_products.id", ondelete="SET NULL"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="SET NULL"))
    path: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class ProcessedUpdate(Base):
    """A Telegram update already applied, claimed in the unit of work that applied it, so a
    redelivered update is recognised (storage.updates); rows older than two days are pruned."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(index=True)


class ReceivedUpdate(Base):
    """A Telegram update the poller fetched and let Telegram forget, not yet processed to its end.

    The durable receipt of bot/polling.py: written before the next getUpdates confirms the
    batch, deleted once the update's processing finished, so a crash in between leaves the row
    and the next start processes it (storage.updates: record_received, finished, pending)."""

    __tablename__ = "received_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]]  # Update.to_dict(): what Update.de_json reads back
    received_at: Mapped[datetime]


# Look-ups by an expression (the redeem limit counts per e-mail whatever its case; an invoice
# number typed in another case is the same invoice): indexed so they stay quick at 100,000 rows.
Index("ix_claims_email_lower", func.lower(Claim.email))
Index(
    "ix_registered_products_invoice_upper",
    func.upper(RegisteredProduct.invoice_number),
    func.lower(RegisteredProduct.store_name),
)
