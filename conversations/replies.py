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
    return ReplyKeyboardMarkup([[KeyboardButton(turn.t(key)) for key in row] for row in MAIN_MENU], resize_keyboard=True, is_persistent=True)
