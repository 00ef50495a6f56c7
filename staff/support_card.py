"""The customer's support thread as lines of the review card (staff/cards.py)."""

from __future__ import annotations

from bot.services import Services
from staff.text import moment, shorten, tr
from storage import support
from storage.support_models import SupportMessage

CARD_LINE = 160  # characters of a support message on the review card


def card_lines(services: Services, messages: list[SupportMessage], total: int) -> list[str]:
    """The customer's support thread on the review card: the latest messages, each on a line."""
    if not messages:
        return []
    lines = ["", tr(services, "support.staff.card_title", count=total)]
    for message in messages:
        words = shorten(message.text, CARD_LINE) if message.text else ""
        key = "support.staff.card_in" if message.direction == support.IN else "support.staff.card_out"
        lines.append(
            tr(
                services,
                key,
                time=moment(services, message.at),
                text=words,
                photo=tr(services, "support.staff.card_photo") if message.photo_file_id else "",
                who=message.author_name or "",
            )
        )
    return lines
