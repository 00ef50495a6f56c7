"""Keyboards shared by every journey."""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup

from conversations.turn import Turn

MAIN_MENU = (("menu.register", "menu.products"), ("menu.promotions", "menu.status"), ("menu.faq", "menu.profile"))
MENU_COMMANDS = {
    "menu.register": "register",
    "menu.products": "products",
    "menu.promotions": "promotions",
    "menu.status": "status",
    "menu.faq": "faq",
    "menu.profile": "profile",
}


def main_menu(turn: Turn) -> ReplyKeyboardMarkup:
    """The persistent menu under the input field."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(turn.t(key)) for key in row] for row in MAIN_MENU], resize_keyboard=True, is_persistent=True
    )


TEXT_BUDGET = 3500  # of Telegram's 4096, leaving room for the message around the lines


def fit_lines(turn: Turn, lines: list[str], budget: int = TEXT_BUDGET) -> str:
    """As many whole lines as fit one message; the rest are counted, never cut mid-line."""
    shown: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        if used + len(line) + 1 > budget:
            shown.append(turn.t("common.and_more", count=len(lines) - index))
            break
        shown.append(line)
        used += len(line) + 1
    return "\n".join(shown)
