"""Looks up user-facing strings in `locales/` and fills their placeholders safely."""

from __future__ import annotations

import html
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from locales import available_languages, load_catalogue, plurals

# Chinese is told apart by script, and a region implies one: Taiwan, Hong Kong and Macau write
# Traditional, the mainland, Singapore and Malaysia Simplified; a bare "zh" is most often the mainland.
_HANT_REGIONS = frozenset({"tw", "hk", "mo"})
_CHINESE_BY_SCRIPT = {"hans": ("zh-Hans", "zh-Hant"), "hant": ("zh-Hant", "zh-Hans")}


def _candidates(language_code: str) -> list[str]:
    """Catalogue names to try for a BCP 47 tag, closest first ("de-AT" → de, "zh-HK" → zh-Hant, zh-Hans)."""
    parts = language_code.replace("_", "-").lower().split("-")
    if parts[0] == "zh":
        script = next((p for p in parts[1:] if p in _CHINESE_BY_SCRIPT), None)
        if script is None:
            script = "hant" if any(p in _HANT_REGIONS for p in parts[1:]) else "hans"
        return list(_CHINESE_BY_SCRIPT[script])
    return ["-".join(parts[:i]) for i in range(len(parts), 0, -1)]


class Raw(str):
    """A value that is already HTML (a rendered fragment) and must not be escaped again."""


_TAG = re.compile(r"<[^>]*>")


def as_plain_text(message: str) -> str:
    """A rendered (HTML) message for places Telegram shows as plain text: toasts, button labels."""
    return html.unescape(_TAG.sub("", message))


def placeholders(template: str) -> set[str]:
    """Names used as `{name}` in a template; the locale test compares them across languages."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def _filled_lines(template: str, values: Mapping[str, object]) -> list[str]:
    """The lines of a multi-line message, leaving out a line whose placeholders all came out empty:
    no "Landing page:" without a page. A line with no placeholder (or a blank one) always stays."""
    lines = []
    for line in template.split("\n"):
        names = placeholders(line)
        if names and all(str(values.get(name, "")).strip() == "" for name in names):
            continue
        lines.append(line.format(**values))
    return lines


@dataclass(frozen=True)
class Translator:
    """Renders catalogue messages; values are HTML-escaped because messages are sent as HTML."""

    default_language: str = "en"

    def resolve(self, language_code: str | None) -> str:
        """Maps a Telegram `language_code` (e.g. `zh-TW`) onto a catalogue we have."""
        if not language_code:
            return self.default_language
        by_lower = {lang.lower(): lang for lang in available_languages()}
        for candidate in _candidates(language_code):
            if candidate.lower() in by_lower:
                return by_lower[candidate.lower()]
        return self.default_language

    def t(self, language: str, key: str, /, **values: object) -> str:
        """The message `key` in `language`, falling back to English, placeholders escaped.

        A plural message (locales/plurals.py) takes the form the language's CLDR rules give `count`."""
        language = language if language in available_languages() else "en"
        template = self._template(language, key, values)
        if template is None:
            raise KeyError(f"no message {key!r} in locales/")
        safe = {k: v if isinstance(v, Raw) else html.escape(str(v), quote=False) for k, v in values.items()}
        if "\n" not in template:
            return template.format(**safe)
        return "\n".join(_filled_lines(template, safe))

    @staticmethod
    def _template(language: str, key: str, values: dict[str, object]) -> str | None:
        for lang in (language, "en"):
            catalogue = load_catalogue(lang)
            if key in catalogue:
                return catalogue[key]
            if f"{key}.other" in catalogue:
                form = plurals.category(lang, values.get("count", 0))
                return catalogue.get(f"{key}.{form}") or catalogue[f"{key}.other"]
        return None

    def has(self, key: str) -> bool:
        english = load_catalogue("en")
        return key in english or f"{key}.other" in english

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


_FAMILY_NAME_FIRST = ("zh", "ja", "ko")


def _is_cjk(text: str) -> bool:
    return bool(text) and all("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


def person_name(first: str | None, last: str | None, language: str) -> str:
    """A person's name in the order the language writes it: "Wei Tan", "陳美玲" (no space between
    names written in Chinese or Japanese characters), "Tan Wei" in a Chinese text for Latin names."""
    first, last = (first or "").strip(), (last or "").strip()
    family_first = language.split("-")[0] in _FAMILY_NAME_FIRST
    parts = [last, first] if family_first else [first, last]
    joiner = "" if family_first and _is_cjk(first) and _is_cjk(last) else " "
    return joiner.join(part for part in parts if part)


def number_range(low: int, high: int, language: str) -> str:
    """'7–14', or just '30' when both ends are the same (never '30–30')."""
    locale = language.replace("-", "_")
    if low == high:
        return str(format_decimal(high, locale=locale))
    return f"{format_decimal(min(low, high), locale=locale)}–{format_decimal(max(low, high), locale=locale)}"


def format_day(day: date, language: str) -> str:
    """A date as the language writes it ("Mar 3, 2026", "2026年3月3日")."""
    return str(format_date(day, "medium", locale=language.replace("-", "_")))
