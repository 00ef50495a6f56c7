"""Looks up user-facing strings in `locales/` and fills their placeholders safely."""

from __future__ import annotations

import html
import re
import string
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency

from locales import available_languages, load_catalogue

_ALIASES = {
    "zh": "zh-Hant",
    "zh-hant": "zh-Hant",
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "zh-mo": "zh-Hant",
}


class Raw(str):
    """A value that is already HTML (a rendered fragment) and must not be escaped again."""


_TAG = re.compile(r"<[^>]*>")


def as_plain_text(message: str) -> str:
    """A rendered (HTML) message for places Telegram shows as plain text: toasts, button labels."""
    return html.unescape(_TAG.sub("", message))


def placeholders(template: str) -> set[str]:
    """Names used as `{name}` in a template; the locale test compares them across languages."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


@dataclass(frozen=True)
class Translator:
    """Renders catalogue messages; values are HTML-escaped because messages are sent as HTML."""

    default_language: str = "en"

    def resolve(self, language_code: str | None) -> str:
        """Maps a Telegram `language_code` (e.g. `zh-TW`) onto a catalogue we have."""
        if not language_code:
            return self.default_language
        if language_code in available_languages():
            return language_code
        lowered = language_code.lower()
        for candidate in (lowered, lowered.split("-")[0]):
            if candidate in _ALIASES:
                return _ALIASES[candidate]
            if candidate in available_languages():
                return candidate
        return self.default_language

    def t(self, language: str, key: str, /, **values: object) -> str:
        """The message `key` in `language`, falling back to English, placeholders escaped."""
        catalogue = load_catalogue(language if language in available_languages() else "en")
        template = catalogue.get(key) or load_catalogue("en").get(key)
        if template is None:
            raise KeyError(f"no message {key!r} in locales/")
        safe = {k: v if isinstance(v, Raw) else html.escape(str(v), quote=False) for k, v in values.items()}
        return template.format(**safe)

    def has(self, key: str) -> bool:
        return key in load_catalogue("en")

    def every(self, key: str) -> dict[str, str]:
        """The message in every language, e.g. to match a reply-keyboard label in any of them."""
        return {lang: self.t(lang, key) for lang in available_languages()}


def format_money(amount: object, currency: str, language: str) -> str:
    """An amount in the language, the currency named ("50.00 Singapore dollars")."""
    try:
        return str(
            format_currency(Decimal(str(amount)), currency, locale=language.replace("-", "_"), format_type="name")
        )
    except (ValueError, KeyError, ArithmeticError):  # an unusual currency code: plain is fine
        return f"{amount} {currency}".strip()


def format_day(day: date, language: str) -> str:
    """A date as the language writes it ("Mar 3, 2026", "2026年3月3日")."""
    return str(format_date(day, "medium", locale=language.replace("-", "_")))
