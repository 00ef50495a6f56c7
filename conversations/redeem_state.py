"""The redeem journey's steps and answers, and the one rule of its order: ask for the first piece
the claim still misses (storage.claims.missing_pieces, which the submit checks too)."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, model_validator

from conversations.journey import Answers
from conversations.turn import Turn
from storage import addresses, claims, products, promotions
from storage.models import PrizeKind, Promotion, RegisteredProduct

FLOW = "redeem"


class S(enum.StrEnum):
    PROMOTION = "promotion"
    PRODUCTS = "products"
    SN_PHOTO = "sn_photo"
    LUCKY = "lucky"
    ADDRESS = "address"
    ADDRESS_CONFIRM = "address_confirm"
    PAYOUT_METHOD = "payout_method"  # cashback: how to be paid (conversations/redeem_payout.py)
    PAYOUT = "payout"
    AGAIN_MENU = "again_menu"
    AGAIN_PHOTO = "again_photo"
    CONFIRM = "confirm"


class PhotoKind(enum.StrEnum):
    SN = "sn"  # a new photo of the S/N label
    INVOICE = "inv"  # a new invoice, replacing the product's


class StoredPhoto(BaseModel):
    """A photo kept for the claim; the old journey saved it as [path, sha256, phash, labels]."""

    path: str
    sha256: str
    phash: int | None = None
    labels: list[str] = []  # serials read from its barcode, for the staff card

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return dict(zip(("path", "sha256", "phash", "labels"), value, strict=False))
        return value


class RedeemAnswers(Answers):
    promotion_id: int | None = None
    selected: list[int] = []
    photos: dict[int, StoredPhoto] = {}  # product id -> its S/N photo
    invoices: dict[int, StoredPhoto] = {}  # product id -> a new invoice (redeem again)
    photo_for: int | None = None
    photo_kind: PhotoKind | None = None
    lucky: bool | None = None
    address: dict[str, str] = {}
    address_ok: bool = False  # the customer read the address back and confirmed it
    address_prefilled: bool = False  # the profile's (or the last) address was filled in once
    payout_method: str | None = None  # cashback: iban | account | ewallet (storage.fulfilment.PayoutMethod)
    payout: dict[str, str] = {}  # cashback: the validated payout details
    again_order: str | None = None  # redeeming again: the order staff sent back
    nonce: str | None = None  # one submit of this journey is one claim, however often it is tapped


def answers(turn: Turn) -> RedeemAnswers:
    return turn.answers(RedeemAnswers)


async def promotion(turn: Turn, promotion_id: int | None = None) -> Promotion:
    found = await promotions.get(turn.session, promotion_id or answers(turn).promotion_id or 0)
    assert found is not None
    return found


async def product(turn: Turn, product_id: int | None) -> RegisteredProduct | None:
    """One of the member's own products (an id from the state is never trusted alone)."""
    return (
        await products.of_member(turn.session, turn.member.id, product_id)
        if turn.member is not None and product_id
        else None
    )


async def selected_products(turn: Turn) -> list[RegisteredProduct]:
    found = [await product(turn, pid) for pid in answers(turn).selected]
    return [p for p in found if p is not None]


async def advance(turn: Turn, **given: Any) -> None:
    """Records `given` and goes to the first piece the claim still misses, or the confirmation."""
    merged = RedeemAnswers.model_validate(answers(turn).model_dump() | given)
    if merged.again_order:
        await turn.go(S.AGAIN_MENU, **given)
        return
    address = merged.address if merged.address_ok else None
    found = await promotion(turn, merged.promotion_id)
    missing = claims.missing_pieces(found, merged.selected, set(merged.photos), merged.lucky, address)
    first = missing[0] if missing else None
    if first is None and found.prize_kind == PrizeKind.CASHBACK and not merged.payout:
        await turn.go(S.PAYOUT_METHOD, **given)
    elif first is None:
        await turn.go(S.CONFIRM, **given)
    elif first.piece is claims.Piece.SN_PHOTO:
        await turn.go(S.SN_PHOTO, **given, photo_for=first.product_id)
    elif first.piece is claims.Piece.LUCKY_DRAW:
        await turn.go(S.LUCKY, **given)
    else:
        await turn.go(S.ADDRESS if addresses.missing_field(merged.address) else S.ADDRESS_CONFIRM, **given)
