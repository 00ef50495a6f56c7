"""Promotions as a customer sees them: which are open to them, what they may still redeem,
the eligible products by name, and the dates a decided claim promises.

Decisions, written down:

* **Open to the member.** A running promotion is shown to a member only when the country they
  live in is one of its eligible countries (the guide's FAQ: "make sure the country you live in
  is in the eligible countries"); the others are counted, so the chat can say they exist.
* **Eligible products** are the catalogue products whose `model` is in the promotion's
  `eligible_models` (compared as `eligibility.model_eligible` does: trimmed, case-insensitive).
  A listed model missing from the catalogue is still shown, by its model number.
* **Promised dates.** Cashback is paid `review.CASHBACK_WORKING_DAYS` working days after the
  approval (the same count the decision message uses); a physical prize is delivered
  `PHYSICAL_DELIVERY_WEEKS` after the approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import claims, eligibility, redeem_options
from storage.models import CatalogueProduct, Claim, Member, Promotion, RegisteredProduct
from storage.review import CASHBACK_WORKING_DAYS
from storage.workdays import add_working_days

PHYSICAL_DELIVERY_WEEKS = (8, 12)


@dataclass(frozen=True)
class EligibleProduct:
    """One eligible model; `name`/`category` are None when the model is not in the catalogue."""

    model: str
    name: str | None
    category: str | None


@dataclass
class Offer:
    """One running promotion open to the member, with what they used and can redeem now."""

    promotion: Promotion
    used: int  # products redeemed (or in review) under the member's e-mail
    ready: list[RegisteredProduct] = field(default_factory=list)  # redeemable right now
    others: int = 0  # registered products that cannot be redeemed for it (any reason)

    @property
    def remaining(self) -> int:
        return max(self.promotion.redeem_limit_per_email - self.used, 0)


@dataclass
class Offers:
    open: list[Offer]
    closed: int  # running promotions not open to the member's country of residence
    running: int  # every running promotion


async def get(session: AsyncSession, promotion_id: int) -> Promotion | None:
    return await session.get(Promotion, promotion_id)


def open_to_residents_of(promotion: Promotion, country: str | None) -> bool:
    """Whether someone living in `country` can take part at all."""
    allowed = {str(code).strip().upper() for code in promotion.eligible_countries or []}
    return bool(country) and str(country).strip().upper() in allowed


async def offers_for_member(session: AsyncSession, member: Member, now: datetime) -> Offers:
    """The running promotions the member could take part in, oldest start first."""
    running = await eligibility.running_promotions(session, now)
    options = {option.promotion.id: option for option in await redeem_options.redeem_options(session, member, now)}
    shown: list[Offer] = []
    for promotion in running:
        if not open_to_residents_of(promotion, member.country):
            continue
        used = await claims.redeemed_count(session, promotion.id, member.email) if member.email else 0
        option = options.get(promotion.id)
        shown.append(
            Offer(promotion, used, list(option.eligible) if option else [], len(option.others) if option else 0)
        )
    return Offers(shown, len(running) - len(shown), len(running))


async def eligible_products(session: AsyncSession, promotion: Promotion) -> list[EligibleProduct]:
    """The promotion's eligible models with their catalogue names, by category then name."""
    wanted = {str(model).strip().upper(): str(model).strip() for model in promotion.eligible_models or []}
    if not wanted:
        return []
    rows = (
        await session.scalars(
            select(CatalogueProduct).where(func.upper(func.trim(CatalogueProduct.model)).in_(list(wanted)))
        )
    ).all()
    found = [EligibleProduct(row.model, row.name, row.category) for row in rows]
    known = {row.model.strip().upper() for row in rows}
    found.sort(key=lambda p: (p.category or "", (p.name or "").casefold(), p.model))
    return found + [EligibleProduct(model, None, None) for key, model in wanted.items() if key not in known]


async def eligible_product_names(session: AsyncSession, promotion: Promotion) -> list[str]:
    """Names of the eligible products (the model number where the catalogue has no name)."""
    return [product.name or product.model for product in await eligible_products(session, promotion)]


def cashback_due(claim: Claim) -> date | None:
    """When an approved cashback is paid at the latest; None before the decision."""
    if claim.decided_at is None:
        return None
    return add_working_days(claim.decided_at.date(), CASHBACK_WORKING_DAYS)


def delivery_due(claim: Claim) -> date | None:
    """When an approved physical prize is delivered at the latest; None before the decision."""
    if claim.decided_at is None:
        return None
    return claim.decided_at.date() + timedelta(weeks=PHYSICAL_DELIVERY_WEEKS[1])


def review_overdue(claim: Claim, promotion: Promotion, today: date) -> bool:
    """A claim in review past the promised answer date."""
    return today > claims.expected_decision(claim.submitted_at, promotion)
