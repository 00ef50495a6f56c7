"""Submitting a claim: the draft, what it still misses, the limits that guard it (refusals and
counters), the submit itself, and the customer's records. Kept apart from what a member may redeem
(storage.redeem_options) and redeeming again (storage.resubmission), which build on these pieces."""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage import addresses, audit, eligibility, fingerprints, outbox
from storage.email_verification import is_verified
from storage.mailboxes import mailbox_key
from storage.models import Claim, ClaimEvent, ClaimItem, ClaimStatus, Member, PrizeKind, Promotion, RegisteredProduct
from storage.workdays import working_days_after

ORDER_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read aloud or typed without doubt
ORDER_LENGTH = 10
CLAIMS_PER_DAY_PER_MEMBER = 5
CLAIMS_PER_DAY_PER_EMAIL = 5
COUNTED = (ClaimStatus.REVIEW, ClaimStatus.MISSING_INFO, ClaimStatus.APPROVED)  # a final rejection frees its place


class Refusal(enum.StrEnum):
    NO_PROFILE = "no_profile"
    NO_PRODUCTS = "no_products"
    NOT_ELIGIBLE = "not_eligible"
    ALREADY_REDEEMED = "already_redeemed"
    LIMIT_REACHED = "limit_reached"
    RATE_LIMITED = "rate_limited"
    LUCKY_DRAW_ANSWER_MISSING = "lucky_draw_answer_missing"
    ADDRESS_MISSING = "address_missing"
    PHOTO_MISSING = "photo_missing"
    NOT_FIXABLE = "not_fixable"
    OUT_OF_STOCK = "out_of_stock"
    HOUSEHOLD_LIMIT = "household_limit"
    EMAIL_UNVERIFIED = "email_unverified"  # the address was never proven with its code


class ClaimRefused(Exception):
    def __init__(self, refusal: Refusal, **details: Any) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.details = details


@dataclass(frozen=True)
class ItemDraft:
    registered_product_id: int
    sn_photo_path: str
    sn_photo_sha256: str
    sn_photo_phash: int | None = None
    label_serials: list[str] | None = None  # read from the photo's barcode, for the staff card


@dataclass(frozen=True)
class ClaimDraft:
    promotion_id: int
    items: list[ItemDraft]
    lucky_draw_opt_in: bool | None
    shipping_address: dict[str, str] | None
    idempotency_key: str


class Piece(enum.StrEnum):
    """Something a claim needs from the customer before it can be submitted."""

    SN_PHOTO = "sn_photo"  # per product: a photo of the S/N label on the product itself
    LUCKY_DRAW = "lucky_draw"  # the required yes/no of a promotion with a lucky draw
    ADDRESS = "address"  # a complete shipping address, for a physical prize


@dataclass(frozen=True)
class Missing:
    piece: Piece
    product_id: int | None = None  # the product an S/N photo is still missing for


def missing_pieces(
    promotion: Promotion,
    product_ids: Sequence[int],
    photographed: Collection[int],
    lucky_draw_opt_in: bool | None,
    shipping_address: Mapping[str, str] | None,
) -> list[Missing]:
    """What the claim still lacks, in the order the journey asks for it; empty when it is ready."""
    missing = [Missing(Piece.SN_PHOTO, pid) for pid in product_ids if pid not in photographed]
    if promotion.lucky_draw and lucky_draw_opt_in is None:
        missing.append(Missing(Piece.LUCKY_DRAW))
    if promotion.prize_kind == PrizeKind.PHYSICAL and not addresses.is_complete(shipping_address):
        missing.append(Missing(Piece.ADDRESS))
    return missing


@dataclass
class Submitted:
    claim: Claim
    created: bool  # False when the same submission arrived again
    expected_by: date


@dataclass
class Record:
    """One line of the customer's redeem history."""

    claim: Claim
    promotion: Promotion
    products: list[RegisteredProduct] = field(default_factory=list)
    code: str | None = None


def email_token(email: str) -> str:
    """A one-way stand-in for an erased e-mail on a claim: equal for equal addresses (so the
    per-e-mail cap still recognises it after /deleteme), unreadable as an address."""
    return "erased:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def same_email(email: str) -> ColumnElement[bool]:
    """Claims made for this mailbox (however it was spelled, see mailbox_key), also those whose
    e-mail was erased since (their key is the token of the mailbox, or, erased before keys
    existed, of the address as typed)."""
    key = mailbox_key(email)
    return Claim.email_key.in_(list(dict.fromkeys([key, email_token(key), email_token(email)])))


def new_order_id() -> str:
    return "".join(secrets.choice(ORDER_ALPHABET) for _ in range(ORDER_LENGTH))


def promotion_country(promotion: Promotion) -> str | None:
    """Whose public holidays count for the promise: the promotion's first eligible country."""
    return str(promotion.eligible_countries[0]) if promotion.eligible_countries else None


def expected_decision(submitted: datetime, promotion: Promotion) -> date:
    """The promised answer date: the upper end of the processing time, in working days."""
    return working_days_after(submitted.date(), promotion.processing_days_max, promotion_country(promotion))


async def _lock(session: AsyncSession, promotion: Promotion, email: str) -> None:
    """Serializes the submits that compete for one limit (PostgreSQL; SQLite serializes writers):
    one e-mail on one promotion, or every submit of a promotion whose stock or household cap
    is shared across e-mails."""
    if session.bind.dialect.name != "postgresql":
        return
    shared = promotion.while_stock_lasts or promotion.household_limit
    scope = f"{promotion.id}" if shared else f"{promotion.id}:{mailbox_key(email)}"
    key = int.from_bytes(hashlib.sha256(scope.encode()).digest()[:8], "big", signed=True)
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def redeemed_count(session: AsyncSession, promotion_id: int, email: str) -> int:
    """Products redeemed (or in review) for the promotion under this e-mail, across all accounts."""
    query = (
        select(func.count(ClaimItem.id))
        .join(Claim, Claim.id == ClaimItem.claim_id)
        .where(Claim.promotion_id == promotion_id, same_email(email), Claim.status.in_(COUNTED))
    )
    return int(await session.scalar(query) or 0)


async def claimed_product_ids(session: AsyncSession, promotion_id: int, product_ids: Iterable[int]) -> set[int]:
    """Which of `product_ids` are already in a live claim of this promotion (looked up by product,
    indexed, so the cost does not grow with the promotion's claims)."""
    wanted = list(dict.fromkeys(product_ids))
    if not wanted:
        return set()
    query = (
        select(ClaimItem.registered_product_id)
        .join(Claim)
        .where(
            ClaimItem.registered_product_id.in_(wanted), Claim.promotion_id == promotion_id, Claim.status.in_(COUNTED)
        )
    )
    return set((await session.scalars(query)).all())


async def stock_left(session: AsyncSession, promotion: Promotion) -> int | None:
    """Prizes still available for new claims when the promotion closes on its stock; None otherwise.

    Claims in review will take a prize when approved, so they count against the stock."""
    if not promotion.while_stock_lasts or promotion.prize_kind == PrizeKind.CASHBACK:
        return None  # cashback has no stock to run out of
    pending = select(func.count(ClaimItem.id)).join(Claim).where(Claim.promotion_id == promotion.id)
    if promotion.prize_kind == PrizeKind.PHYSICAL:
        taken = int(await session.scalar(pending.where(Claim.status.in_(COUNTED))) or 0)
        return max((promotion.prize_stock or 0) - taken, 0)
    from storage.codes import codes_left

    waiting = int(
        await session.scalar(pending.where(Claim.status.in_((ClaimStatus.REVIEW, ClaimStatus.MISSING_INFO)))) or 0
    )
    return max(await codes_left(session, promotion.id) - waiting, 0)


def household_key(address: dict[str, str]) -> str:
    """One household per street, postcode and country, however it was typed."""
    return "|".join(
        " ".join(str(address.get(part, "")).lower().replace(",", " ").split())
        for part in ("street", "postcode", "country")
    )


async def household_count(session: AsyncSession, promotion_id: int, address: dict[str, str]) -> int:
    """Live claims of the promotion shipping to the same address, across all accounts."""
    key = household_key(address)
    rows = await session.scalars(
        select(Claim.shipping_address).where(
            Claim.promotion_id == promotion_id, Claim.status.in_(COUNTED), Claim.shipping_address.is_not(None)
        )
    )
    return sum(1 for row in rows if row and household_key(row) == key)


async def _recent_claims(
    session: AsyncSession, since: datetime, *, member_id: int | None = None, email: str | None = None
) -> int:
    query = select(func.count()).select_from(Claim).where(Claim.submitted_at >= since)
    if member_id is not None:
        query = query.where(Claim.member_id == member_id)
    if email is not None:
        query = query.where(same_email(email))
    return int(await session.scalar(query) or 0)


async def queue_review_card(session: AsyncSession, claim: Claim, review_chat_id: int | None, now: datetime) -> None:
    """The staff chat gets the claim's review card, committed with the claim itself."""
    if review_chat_id is not None:
        await outbox.enqueue_kind(
            session,
            chat_id=review_chat_id,
            kind="review_card",
            payload={"claim_id": claim.id, "attempt": claim.attempt},
            now=now,
        )


async def submit(
    session: AsyncSession,
    member: Member,
    draft: ClaimDraft,
    now: datetime,
    review_chat_id: int | None = None,
    *,
    require_verified: bool = True,
) -> Submitted:
    """Creates the claim after checking everything again, in this transaction. Only a verified
    address redeems, unless the operator switched verification off (`require_verified=False`)."""
    promotion = await session.get(Promotion, draft.promotion_id)
    if promotion is None or not member.email or member.profile_completed_at is None:
        raise ClaimRefused(Refusal.NO_PROFILE)
    if require_verified and not is_verified(member):
        raise ClaimRefused(Refusal.EMAIL_UNVERIFIED)
    existing = await session.scalar(select(Claim).where(Claim.idempotency_key == draft.idempotency_key))
    if existing is not None:
        return Submitted(existing, False, expected_decision(existing.submitted_at, promotion))
    if not draft.items:
        raise ClaimRefused(Refusal.NO_PRODUCTS)
    photographed = {item.registered_product_id for item in draft.items if item.sn_photo_path}
    lacking = {
        m.piece
        for m in missing_pieces(
            promotion,
            [i.registered_product_id for i in draft.items],
            photographed,
            draft.lucky_draw_opt_in,
            draft.shipping_address,
        )
    }
    for piece, refusal in (
        (Piece.LUCKY_DRAW, Refusal.LUCKY_DRAW_ANSWER_MISSING),
        (Piece.ADDRESS, Refusal.ADDRESS_MISSING),
        (Piece.SN_PHOTO, Refusal.PHOTO_MISSING),
    ):
        if piece in lacking:
            raise ClaimRefused(refusal)
    await _lock(session, promotion, member.email)
    existing = await session.scalar(select(Claim).where(Claim.idempotency_key == draft.idempotency_key))
    if existing is not None:  # the same submit, arrived again while we waited for the lock
        return Submitted(existing, False, expected_decision(existing.submitted_at, promotion))
    day = now - timedelta(days=1)
    if (
        await _recent_claims(session, day, member_id=member.id) >= CLAIMS_PER_DAY_PER_MEMBER
        or await _recent_claims(session, day, email=member.email) >= CLAIMS_PER_DAY_PER_EMAIL
    ):
        raise ClaimRefused(Refusal.RATE_LIMITED, per_day=CLAIMS_PER_DAY_PER_MEMBER)
    taken = await claimed_product_ids(session, promotion.id, (item.registered_product_id for item in draft.items))
    for item in draft.items:
        product = await session.get(RegisteredProduct, item.registered_product_id)
        if product is None or product.member_id != member.id:
            raise ClaimRefused(Refusal.NOT_ELIGIBLE)
        if product.id in taken:
            raise ClaimRefused(Refusal.ALREADY_REDEEMED, serial=product.serial)
        if reasons := eligibility.reasons(product, member.country, promotion, now):
            raise ClaimRefused(Refusal.NOT_ELIGIBLE, serial=product.serial, reasons=[r.value for r in reasons])
    used = await redeemed_count(session, promotion.id, member.email)
    if used + len(draft.items) > promotion.redeem_limit_per_email:
        raise ClaimRefused(Refusal.LIMIT_REACHED, limit=promotion.redeem_limit_per_email, used=used)
    left = await stock_left(session, promotion)
    if left is not None and left < len(draft.items):
        raise ClaimRefused(Refusal.OUT_OF_STOCK)
    if (
        promotion.household_limit
        and draft.shipping_address
        and await household_count(session, promotion.id, draft.shipping_address) >= promotion.household_limit
    ):
        raise ClaimRefused(Refusal.HOUSEHOLD_LIMIT, limit=promotion.household_limit)
    claim = Claim(
        order_id=new_order_id(),
        member_id=member.id,
        promotion_id=promotion.id,
        email=member.email,
        email_key=mailbox_key(member.email),
        status=ClaimStatus.REVIEW,
        lucky_draw_opt_in=draft.lucky_draw_opt_in if promotion.lucky_draw else None,
        shipping_address=draft.shipping_address,
        attempt=1,
        idempotency_key=draft.idempotency_key,
        submitted_at=now,
        items=[
            ClaimItem(
                registered_product_id=i.registered_product_id,
                sn_photo_path=i.sn_photo_path,
                sn_photo_sha256=i.sn_photo_sha256,
                label_serials=i.label_serials,
            )
            for i in draft.items
        ],
    )
    for _ in range(5):
        try:
            async with session.begin_nested():
                session.add(claim)
                await session.flush()
            break
        except IntegrityError:
            claim.order_id = new_order_id()  # an order-id collision: astronomically rare, retried
    else:
        raise RuntimeError("could not store the claim: five order-id collisions in a row")
    session.add(
        ClaimEvent(
            claim_id=claim.id,
            at=now,
            kind="submitted",
            actor_user_id=member.telegram_user_id,
            details={"items": [i.registered_product_id for i in draft.items]},
        )
    )
    await record_fingerprints(session, member.id, claim.id, draft.items, now)
    await audit.record(
        session,
        now=now,
        actor_user_id=member.telegram_user_id,
        action="claim.submitted",
        subject=claim.order_id,
        details={"promotion": promotion.slug},
    )
    await queue_review_card(session, claim, review_chat_id, now)
    return Submitted(claim, True, expected_decision(now, promotion))


async def records(session: AsyncSession, member_id: int) -> list[Record]:
    """The member's claims, newest first, with their promotion, products and code."""
    from storage.models import ActivationCode

    claims = (
        await session.scalars(
            select(Claim)
            .where(Claim.member_id == member_id)
            .options(selectinload(Claim.items))
            .order_by(Claim.submitted_at.desc(), Claim.id.desc())
        )
    ).all()
    result: list[Record] = []
    for claim in claims:
        promotion = await session.get(Promotion, claim.promotion_id)
        assert promotion is not None
        products = [
            p
            for p in [await session.get(RegisteredProduct, i.registered_product_id) for i in claim.items]
            if p is not None
        ]
        code = await session.scalar(select(ActivationCode.code).where(ActivationCode.claim_id == claim.id))
        result.append(Record(claim, promotion, products, code))
    return result


async def claim_of_member(session: AsyncSession, member_id: int, order_id: str) -> Claim | None:
    claim: Claim | None = await session.scalar(
        select(Claim).where(Claim.member_id == member_id, Claim.order_id == order_id).options(selectinload(Claim.items))
    )
    return claim


async def record_fingerprints(
    session: AsyncSession, member_id: int, claim_id: int, items: list[ItemDraft], now: datetime
) -> None:
    """Remembers the S/N photos' fingerprints for the duplicate-photo check (submit and resubmit)."""
    for item in items:
        if item.sn_photo_phash is not None:
            await fingerprints.record(
                session,
                sha256=item.sn_photo_sha256,
                phash=item.sn_photo_phash,
                member_id=member_id,
                kind="sn_photo",
                registered_product_id=item.registered_product_id,
                claim_id=claim_id,
                path=item.sn_photo_path,
                now=now,
            )
