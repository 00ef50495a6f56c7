"""Countries and regions: localized names (from Babel's CLDR data) and search by typing.

Codes are ISO 3166-1 alpha-2 (`SG`, `TW`, …). A bot language such as `zh-Hant` maps onto the
Babel locale `zh_Hant`; an unknown language falls back to English names.

`search_countries` matches names in every language the bot speaks plus a few widely used others,
so a user may type "sing", "新加" or "Deutschland" whatever language the bot talks to them in.
An exact answer (an ISO code, a full name in any of those languages, or a common alias such as
"UK") returns that single country, so callers can take a one-element result directly.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from babel import Locale, UnknownLocaleError

from storage.catalogue import ISO_COUNTRIES

# Shown as buttons before the user types anything.
COMMON_COUNTRIES: tuple[str, ...] = ("SG", "TW", "US", "DE", "FR", "GB", "HK", "MY", "JP")


# Names also searched, beyond the bot's own languages (people type what they know).
_SEARCH_LOCALES = ("en", "zh_Hant", "zh_Hans", "ja", "ko", "ms", "de", "fr", "es", "it", "nl", "pt", "id", "th", "vi")

# CLDR's formal names are long for a button; these are the everyday short forms.
_SHORT_NAMES: dict[str, dict[str, str]] = {
    "en": {"HK": "Hong Kong", "MO": "Macao"},
    "zh_Hant": {"HK": "香港", "MO": "澳門"},
    "zh_Hans": {"HK": "香港", "MO": "澳门"},
}

# Everyday names that are in no CLDR list, keyed by their normalized form.
_ALIASES: dict[str, str] = {
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "korea": "KR",
    "臺灣": "TW",
    "台湾": "TW",
    "hongkong": "HK",
    "holland": "NL",
    "uae": "AE",
}


def _babel_locale(language: str) -> str:
    """`zh-Hant` → `zh_Hant`; anything Babel does not know → `en`."""
    candidate = language.replace("-", "_")
    try:
        Locale.parse(candidate)
    except (UnknownLocaleError, ValueError):
        return "en"
    return candidate


@cache
def _names(locale: str) -> dict[str, str]:
    """Code → name in one Babel locale, for the ISO 3166-1 codes storage accepts (no "EU", "UN"…)."""
    territories = Locale.parse(locale).territories
    names = {code: name for code, name in territories.items() if code in ISO_COUNTRIES}
    names |= _SHORT_NAMES.get(locale, {})
    return names


def all_codes() -> list[str]:
    """Every country code we accept."""
    return sorted(_names("en"))


def is_country(code: str) -> bool:
    return code.upper() in _names("en")


def country_name(code: str, language: str) -> str:
    """The country's name in the bot language `language` (e.g. `en`, `zh-Hant`); the code if unknown."""
    code = code.upper()
    return _names(_babel_locale(language)).get(code) or _names("en").get(code) or code


def _normalize(text: str) -> str:
    """Case-, accent- and width-insensitive form used for matching."""
    text = unicodedata.normalize("NFKD", text.strip().casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.replace("’", "'").replace("&", "and").split())


@cache
def _index() -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Exact normalized name → code, and every (normalized name, code, locale) to search."""
    exact: dict[str, str] = {}
    entries: list[tuple[str, str, str]] = []
    for locale in _SEARCH_LOCALES:
        for code, name in _names(locale).items():
            key = _normalize(name)
            exact.setdefault(key, code)
            entries.append((key, code, locale))
        for code, name in Locale.parse(locale).territories.items():  # the formal long names too
            if code in _names(locale):
                exact.setdefault(_normalize(name), code)
    for alias, code in _ALIASES.items():
        exact.setdefault(_normalize(alias), code)
    return exact, entries


def exact_country(query: str) -> str | None:
    """The code when `query` is an ISO code, a full name in a known language, or an alias."""
    norm = _normalize(query)
    if not norm:
        return None
    if len(norm) == 2 and norm.isascii() and norm.isalpha() and is_country(norm):
        return norm.upper()
    return _index()[0].get(norm)


def search_countries(query: str, language: str, limit: int = 8) -> list[str]:
    """Codes of the countries whose name (in any language) contains `query`, best first.

    An exact answer returns just that code. Ranking: names starting with the query before names
    with a word starting with it before names merely containing it (for Latin letters that last
    kind only in the user's language and English, to keep noise out); within a rank the user's
    language first, then English, then the others; then alphabetically by the name shown to the user.
    """
    exact = exact_country(query)
    if exact is not None:
        return [exact]
    norm = _normalize(query)
    if not norm:
        return []
    own = _babel_locale(language)
    best: dict[str, tuple[int, int]] = {}
    for name, code, locale in _index()[1]:
        position = name.find(norm)
        if position < 0:
            continue
        if position == 0:
            rank = 0
        elif not name[position - 1].isalnum():
            rank = 1
        elif locale in (own, "en") or not norm.isascii():
            rank = 2  # mid-word Latin matches only in the user's language and English: less noise
        else:
            continue
        score = (rank, 0 if locale == own else 1 if locale == "en" else 2)
        if code not in best or score < best[code]:
            best[code] = score
    ordered = sorted(best, key=lambda code: (best[code], _normalize(country_name(code, language))))
    return ordered[:limit]
