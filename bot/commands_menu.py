"""The commands menu Telegram shows beside the input field, in each language."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from locales import available_languages
from locales.i18n import Translator

log = logging.getLogger(__name__)
CUSTOMER_COMMANDS = (
    "start",
    "register",
    "products",
    "promotions",
    "redeem",
    "status",
    "faq",
    "profile",
    "language",
    "mydata",
    "deleteme",
    "support",
    "help",
    "cancel",
)
STAFF_COMMANDS = (
    "queue",
    "next",
    "find",
    "approve",
    "reject",
    "reopen",
    "stats",
    "reasons",
    "codes",
    "draw",
    "payouts",
    "shipments",
    "export",
    "promotion",
    "catalogue",
    "staff",
    "serial",
    "product",
    "help",
)


def _commands(translator: Translator, language: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(name, translator.t(language, f"commands.{name}")) for name in names]


def menu_languages() -> dict[str | None, str]:
    """Telegram's command menus are per two-letter code (None: everyone else, in English), so both
    Chinese catalogues share "zh": Traditional keeps it (the vendor's home market, Taiwan); a
    Simplified reader sees the menu's short descriptions in Traditional and every message in Simplified."""
    menus: dict[str | None, str] = {}
    for language in sorted(available_languages(), key=lambda lang: lang != "zh-Hant"):
        code = None if language == "en" else language.split("-")[0]
        menus.setdefault(code, language)
    return menus


async def publish_commands(bot: Bot, translator: Translator, staff_chat_id: int | None) -> None:
    """Customer commands for private chats per language; staff commands in the staff group."""
    for code, language in menu_languages().items():
        await bot.set_my_commands(
            _commands(translator, language, CUSTOMER_COMMANDS),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=code,
        )
    if staff_chat_id is not None:
        try:
            await bot.set_my_commands(
                _commands(translator, translator.default_language, STAFF_COMMANDS),
                scope=BotCommandScopeChat(staff_chat_id),
            )
        except TelegramError as exc:  # the bot still serves customers; staff need the group fixed
            log.warning(
                "STAFF_CHAT_ID %s: could not set the staff commands (%s); is the bot a member of that group?",
                staff_chat_id,
                exc,
            )
