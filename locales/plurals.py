"""Messages that show a count, in the forms each language's CLDR plural rules ask for.

A plural message is a table whose keys are CLDR categories (`zero`, `one`, `two`, `few`,
`many`, `other`) and which is always counted by the placeholder `{count}`:

    [register.chk_wrong]
    one = "… ({count} try left)."
    other = "… ({count} tries left)."

English and German need `one` and `other`, French and Spanish `one`, `many` and `other`,
Chinese and Japanese `other` only; `categories()` says it for any language (Babel's CLDR data).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from babel import Locale

CATEGORIES = ("zero", "one", "two", "few", "many", "other")


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language.replace("-", "_"))


def categories(language: str) -> frozenset[str]:
    """The plural categories the language's CLDR rules use (always with `other`)."""
    return frozenset(_locale(language).plural_form.tags | {"other"})


def category(language: str, count: object) -> str:
    """The category of `count` in `language` ("one" for 1 in English, "other" for everything in Japanese)."""
    try:
        number = float(str(count))
    except ValueError:
        return "other"
    return str(_locale(language).plural_form(int(number) if number.is_integer() else number))


def families(catalogue: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """The plural messages of a flattened catalogue: key → the categories it gives.

    A table counts as plural when every entry under it is a category and `other` is among them,
    so an ordinary key that happens to be called `other` (`reminders.other`) is not mistaken for one.
    """
    children: dict[str, set[str]] = {}
    for key in catalogue:
        parent, _, leaf = key.rpartition(".")
        if parent:
            children.setdefault(parent, set()).add(leaf)
    nested = {key.rpartition(".")[0] for key in children}
    return {
        parent: frozenset(leaves)
        for parent, leaves in children.items()
        if "other" in leaves and leaves <= set(CATEGORIES) and parent not in nested
    }
