"""Whether a text staff typed is written in a customer's language, judged from its script.

Our languages are told apart by script alone (English: Latin letters; Traditional Chinese: Han
characters), so counting letters per script is enough and costs nothing; a language detector
would add a model to guess what the script already says. Only a clear mismatch counts: a text
with no letters, or one that mixes both (an order id in a Chinese sentence), is not foreign.
"""

from __future__ import annotations

import unicodedata

HAN_SHARE = 0.3  # of the letters: at least this share Han reads as Chinese, below it as Latin


def _is_han(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2FA1F
        or 0xF900 <= code <= 0xFAFF
        or 0x3100 <= code <= 0x312F  # bopomofo
    )


def _is_latin(char: str) -> bool:
    return char.isascii() or unicodedata.name(char, "").startswith("LATIN")


def script_of(text: str) -> str | None:
    """ "han", "latin", or None when the text has too few letters to tell."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 2:
        return None
    han = sum(1 for c in letters if _is_han(c))
    if han / len(letters) >= HAN_SHARE:
        return "han"
    latin = sum(1 for c in letters if _is_latin(c))
    return "latin" if latin / len(letters) >= 0.5 else None


LANGUAGE_SCRIPTS = {"en": "latin", "zh-Hant": "han", "zh": "han"}


def is_foreign(text: str, language: str) -> bool:
    """True when `text` is plainly in another script than `language` is written in."""
    expected = LANGUAGE_SCRIPTS.get(language) or LANGUAGE_SCRIPTS.get(language.split("-")[0])
    found = script_of(text)
    return expected is not None and found is not None and found != expected
