"""Texts an operator wrote per language (a promotion's name, prize, description): picking one.

A promotions file holds such texts as `{ en = "…", zh-Hant = "…" }`, and English is required
there, because it is what a customer sees when their language has no text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.models import Promotion

FALLBACK_LANGUAGE = "en"


def _related(language: str | None) -> list[str]:
    """The language, then its base ("de-AT" → "de"), then for Chinese the other script: a reader of
    Simplified reads Traditional better than English, and the other way round."""
    if not language:
        return []
    base = language.split("-")[0]
    related = [language, base]
    if base.lower() == "zh":
        related += ["zh-Hans", "zh-Hant"]
    return list(dict.fromkeys(related))


def in_language(
    texts: Mapping[str, Any] | None, language: str | None, fallback: str = FALLBACK_LANGUAGE, *, default: str = ""
) -> str:
    """The text in `language` (or a related one, see `_related`), else in `fallback`, else `default`;
    an empty text counts as none.

    Tags are compared exactly first, then ignoring case (`zh-hant` finds `zh-Hant`).
    """
    if not texts:
        return default
    for wanted in (*_related(language), fallback):
        if not wanted:
            continue
        text = texts.get(wanted)
        if not text:
            folded = wanted.casefold()
            text = next((value for tag, value in texts.items() if tag.casefold() == folded and value), None)
        if text:
            return str(text)
    return default


def promotion_name(promotion: Promotion, language: str | None) -> str:
    """The promotion's name in the language, else in English, else its slug."""
    return in_language(promotion.names, language, default=promotion.slug)
