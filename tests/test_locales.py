"""Every message exists in every language with the same placeholders, and renders as valid HTML."""

from __future__ import annotations

import pytest

from locales import available_languages, load_catalogue
from locales.i18n import Translator, placeholders


def test_at_least_english_and_traditional_chinese() -> None:
    assert {"en", "zh-Hant"} <= set(available_languages())


@pytest.mark.parametrize("language", [lang for lang in available_languages() if lang != "en"])
def test_same_keys_and_placeholders_as_english(language: str) -> None:
    english, other = load_catalogue("en"), load_catalogue(language)
    assert sorted(set(english) - set(other)) == [], f"missing in {language}"
    assert sorted(set(other) - set(english)) == [], f"only in {language}"
    differing = {
        key: (placeholders(english[key]), placeholders(other[key]))
        for key in english
        if placeholders(english[key]) != placeholders(other[key])
    }
    assert differing == {}


def test_values_are_escaped_but_markup_is_kept() -> None:
    translator = Translator()
    text = translator.t("en", "errors.unknown_command", command="<b>Eve</b> & co")
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in text


@pytest.mark.parametrize(
    ("code", "expected"),
    [("zh-TW", "zh-Hant"), ("zh-hant", "zh-Hant"), ("zh", "zh-Hant"), ("en-GB", "en"), ("fr", "en"), (None, "en")],
)
def test_telegram_language_codes_resolve(code: str | None, expected: str) -> None:
    assert Translator().resolve(code) == expected
