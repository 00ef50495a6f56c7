"""How staff read things: times, ages, people, statuses, reasons and one-line claims.

Staff read the bot in DEFAULT_LANGUAGE (docs/staff-review.md), so these take the services and
speak that language; the outbox renderer of the review card uses them too, outside any turn.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services import Services
from staff.turn import shorten
from storage import fraud, review_lists
from storage.privacy import WITHDRAWN_CODE

MAX_TEXT = 4000  # Telegram allows 4096
MAX_REASON_SHOWN = 300

__all__ = [
    "MAX_TEXT",
    "age",
    "claim_line",
    "fit",
    "language",
    "moment",
    "reason_text",
    "stored_reason",
    "shorten",
    "status_label",
    "tr",
    "who",
]


def language(services: Services) -> str:
    """Staff read the bot in the default language, in the group and in private chats."""
    return services.settings.default_language


def tr(services: Services, key: str, /, **values: object) -> str:
    return services.translator.t(language(services), key, **values)


def moment(services: Services, at: datetime | None) -> str:
    if at is None:
        return "—"
    return tr(services, "staff.time", time=at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))


def age(services: Services, delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return tr(services, "staff.age.days", days=days, hours=hours)
    if hours:
        return tr(services, "staff.age.hours", hours=hours, minutes=minutes)
    return tr(services, "staff.age.minutes", minutes=minutes)


def who(services: Services, user_id: int | None, name: str | None, username: str | None) -> str:
    if name and username:
        return tr(services, "staff.who.full", name=name, username=username)
    if name or username:
        return tr(services, "staff.who.name", name=name or f"@{username}")
    return tr(services, "staff.who.id", id=user_id if user_id is not None else "?")


def status_label(services: Services, status: str) -> str:
    key = f"staff.status.{status}"
    return tr(services, key) if services.translator.has(key) else status


def stored_reason(services: Services, reason: str | None, code: str | None) -> str:
    """The reason a claim keeps, or the words for one kept only as a code (a claim the customer
    withdrew when erasing their data keeps the code, never an English sentence)."""
    if reason:
        return reason
    return tr(services, "mydata.withdrawn_reason") if code == WITHDRAWN_CODE else ""


def reason_text(services: Services, reason: str, code: str | None) -> str:
    """A decision's reason as staff see it: with its code when it had one (HTML)."""
    reason = shorten(reason, MAX_REASON_SHOWN)
    if code:
        return tr(services, "staff.coded_reason", code=code, reason=reason)
    return tr(services, "staff.plain_reason", reason=reason)


def fit(lines: list[str], limit: int = MAX_TEXT) -> str:
    """Joins lines; drops whole lines from the end (never cutting a tag) to stay under the limit."""
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 1:
        lines = lines[:-2] + ["…"]
        text = "\n".join(lines)
    return text


def claim_line(
    services: Services, line: review_lists.ClaimLine, *, with_reason: bool = False, with_age: bool = False
) -> str:
    """One claim in a list: order ID, date, promotion, product(s), status (and reason or age)."""
    claim = line.claim
    products = (
        ", ".join(tr(services, "staff.product", name=p.catalogue_product.name, serial=p.serial) for p in line.products)
        or "—"
    )
    text = tr(
        services,
        "staff.line",
        order_id=claim.order_id,
        date=claim.submitted_at.astimezone(UTC).date().isoformat(),
        promotion=line.promotion.slug,
        products=products,
        status=status_label(services, claim.status),
        attempt=claim.attempt,
    )
    if with_age:
        text += tr(services, "staff.line_age", age=age(services, services.clock.now() - claim.submitted_at))
        if line.risk > fraud.Risk.LOW:
            text += " " + tr(services, f"fraud.mark.{line.risk.name.lower()}")
    reason = stored_reason(services, claim.reason, claim.reason_code) if with_reason else ""
    if reason:
        text += tr(services, "staff.line_reason", reason=shorten(reason, 120))
    return text
