"""What a member can redeem now, per running promotion, and why not the rest: the product's own
eligibility plus the limits of the claims already made (redeemed, cap, stock). Apart from
storage.claims because /redeem, the FAQ and /promotions read it without submitting anything."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import claims, eligibility
from storage.models import Member, Promotion, RegisteredProduct


class ClaimReason(enum.StrEnum):
    """Reasons beyond the product itself, decided from the claims already made."""

    ALREADY_REDEEMED = "already_redeemed"
    LIMIT_REACHED = "limit_reached"
    OUT_OF_STOCK = "out_of_stock"


@dataclass
class PromotionOptions:
    """What a member can redeem for one running promotion, and why not the rest."""

    promotion: Promotion
    eligible: list[RegisteredProduct]
    others: list[tuple[RegisteredProduct, list[str]]]  # reason values: eligibility.Reason or ClaimReason
    remaining: int  # products this e-mail may still redeem


async def redeem_options(session: AsyncSession, member: Member, now: datetime) -> list[PromotionOptions]:
    """Per running promotion: the member's redeemable products and every reason for the others."""
    options: list[PromotionOptions] = []
    by_promotion: dict[int, list[eligibility.Verdict]] = {}
    for verdict in await eligibility.explain_for_member(session, member.id, now):
        by_promotion.setdefault(verdict.promotion.id, []).append(verdict)
    for promotion in await eligibility.running_promotions(session, now):
        verdicts = by_promotion.get(promotion.id, [])
        taken = await claims.claimed_product_ids(session, promotion.id, (v.product.id for v in verdicts))
        remaining = max(
            promotion.redeem_limit_per_email - await claims.redeemed_count(session, promotion.id, member.email or ""), 0
        )
        stock = await claims.stock_left(session, promotion)
        if stock is not None:
            remaining = min(remaining, stock)
        eligible: list[RegisteredProduct] = []
        others: list[tuple[RegisteredProduct, list[str]]] = []
        for verdict in verdicts:
            reasons = [r.value for r in verdict.reasons]
            if verdict.product.id in taken:
                reasons.append(ClaimReason.ALREADY_REDEEMED.value)
            elif stock == 0:
                reasons.append(ClaimReason.OUT_OF_STOCK.value)
            elif remaining == 0:
                reasons.append(ClaimReason.LIMIT_REACHED.value)
            if reasons:
                others.append((verdict.product, reasons))
            else:
                eligible.append(verdict.product)
        options.append(PromotionOptions(promotion, eligible, others, remaining))
    return options
