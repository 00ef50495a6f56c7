"""Each language's glossary (locales/<lang>/glossary.toml) names one term per thing, and no message
of that language uses a variant the glossary forbids: in Chinese 產品序號 (the product's serial) and
兌換碼 (the activation code we send) are never both called 序號."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from locales import GLOSSARY_FILE, LOCALES_DIR, available_languages, load_catalogue

# The things every glossary must settle (the list): a language without them is not done.
REQUIRED_TERMS = {"serial", "chk", "activation_code", "claim", "staff"}
_NOT_PROSE = re.compile(r"<code>.*?</code>|\{[^}]*\}|<[^>]*>|(?<![\w/])/\w+|https?://\S+", re.S)


def _glossary(language: str) -> dict[str, dict[str, object]]:
    with (LOCALES_DIR / language / GLOSSARY_FILE).open("rb") as fh:
        terms = tomllib.load(fh).get("terms", {})
    assert isinstance(terms, dict)
    return terms


def _matcher(term: str) -> re.Pattern[str]:
    """Whole words for Latin-script terms ("keys" is not "keystone"), a plain substring otherwise."""
    if re.search(r"[A-Za-z]", term):
        return re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.I)
    return re.compile(re.escape(term))


def _prose(text: str) -> str:
    """What a reader reads as words: no placeholders, markup, code samples or /commands."""
    return _NOT_PROSE.sub(" ", text)


@pytest.mark.parametrize("language", available_languages())
def test_every_language_has_a_glossary_with_the_core_terms(language: str) -> None:
    path = LOCALES_DIR / language / GLOSSARY_FILE
    assert path.exists(), f"{language} has no {GLOSSARY_FILE}"
    terms = _glossary(language)
    assert REQUIRED_TERMS <= set(terms), f"{language}'s glossary lacks {sorted(REQUIRED_TERMS - set(terms))}"
    for name, term in terms.items():
        assert isinstance(term.get("use"), str) and term["use"], f"{language}: {name} says which word to use"
        for pattern in term.get("forbidden_patterns", []):  # type: ignore[attr-defined]
            re.compile(str(pattern))


@pytest.mark.parametrize(
    "language", [lang for lang in available_languages() if (LOCALES_DIR / lang / GLOSSARY_FILE).exists()]
)
def test_no_message_uses_a_forbidden_variant(language: str) -> None:
    rules: list[tuple[str, re.Pattern[str]]] = []
    for name, term in _glossary(language).items():
        rules += [(f"{name}: {word}", _matcher(str(word))) for word in term.get("forbidden", [])]  # type: ignore[attr-defined]
        rules += [(f"{name}: /{p}/", re.compile(str(p))) for p in term.get("forbidden_patterns", [])]  # type: ignore[attr-defined]
    found = {
        key: [rule for rule, pattern in rules if pattern.search(_prose(text))]
        for key, text in load_catalogue(language).items()
        if not key.startswith("faq.keywords.")  # what customers type, variants included on purpose
    }
    assert {key: rules for key, rules in found.items() if rules} == {}


def test_the_glossary_is_not_a_catalogue() -> None:
    """glossary.toml sits beside the messages but is never loaded as messages."""
    assert not any(key.startswith("terms.") for key in load_catalogue("en"))
    assert Path(LOCALES_DIR / "en" / GLOSSARY_FILE).exists()


def test_the_chinese_serial_and_code_are_told_apart() -> None:
    """The examples of the review: a bare 序號 nowhere, 兌換碼 where the code is meant."""
    zh = load_catalogue("zh-Hant")
    assert "兌換碼" in zh["decisions.approved_code"] and "兌換碼" in zh["faq.q5.answer"]
    assert "產品序號" in zh["register.ask_serial"] and "產品序號" in zh["staff.card.item"]
    assert "請輸入您的" not in zh["register.ask_serial"]
