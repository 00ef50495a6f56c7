"""Every message exists in every language with the same placeholders and the plural forms its
CLDR rules need, is not left in English, and renders as valid HTML; Telegram's language codes
find the closest catalogue."""

from __future__ import annotations

import re
from datetime import date

import pytest

import locales.i18n
from locales import available_languages, load_catalogue, plurals
from locales.i18n import Translator, format_day, format_money, number_range, person_name, placeholders

OTHERS = [lang for lang in available_languages() if lang != "en"]
SEVEN = ("en", "de", "es", "fr", "ja", "zh-Hans", "zh-Hant")

# Messages that may read the same as in English in every language: names of things, codes, units.
SAME_AS_ENGLISH = {
    "fraud.kind.sn_photo",  # "S/N" is printed on the label in every country
    "staff.time",  # "{time} UTC"
}
# …and words that happen to be spelt the same in one language.
SAME_WORD = {
    "de": {"categories.monitor"},  # „Monitor“
    "es": {"buttons.no", "categories.monitor"},  # "No", "Monitor"
}
_NOT_WORDS = re.compile(r"\{[^}]*\}|<[^>]*>|&\w+;|/\w+|https?://\S+")


def _plain_keys(catalogue: dict[str, str]) -> set[str]:
    families = plurals.families(catalogue)
    return {key for key in catalogue if key.rpartition(".")[0] not in families}


def test_at_least_english_and_traditional_chinese() -> None:
    assert {"en", "zh-Hant"} <= set(available_languages())


@pytest.mark.parametrize("language", OTHERS)
def test_same_keys_and_placeholders_as_english(language: str) -> None:
    english, other = load_catalogue("en"), load_catalogue(language)
    english_plain, other_plain = _plain_keys(english), _plain_keys(other)
    english_plurals, other_plurals = plurals.families(english), plurals.families(other)
    assert sorted(english_plain - other_plain) == [], f"missing in {language}"
    assert sorted(other_plain - english_plain) == [], f"only in {language}"
    assert sorted(set(english_plurals) - set(other_plurals)) == [], f"plural messages missing in {language}"
    assert sorted(set(other_plurals) - set(english_plurals)) == [], f"plural messages only in {language}"
    differing = {
        key: (placeholders(english[key]), placeholders(other[key]))
        for key in english_plain
        if placeholders(english[key]) != placeholders(other[key])
    }
    for family in english_plurals:
        wanted = placeholders(english[f"{family}.other"])
        for form in other_plurals[family]:
            found = placeholders(other[f"{family}.{form}"])
            if found != wanted and not (form != "other" and found <= wanted):
                differing[f"{family}.{form}"] = (wanted, found)
    assert differing == {}


@pytest.mark.parametrize("language", available_languages())
def test_plural_messages_have_the_forms_of_the_language(language: str) -> None:
    """English says "one try" and "2 tries", Japanese has one form, French and Spanish three."""
    wanted = plurals.categories(language)
    found = plurals.families(load_catalogue(language))
    wrong = {family: sorted(forms) for family, forms in found.items() if forms != wanted}
    assert wrong == {}, f"{language} needs exactly {sorted(wanted)}"


@pytest.mark.parametrize("language", OTHERS)
def test_nothing_left_in_english(language: str) -> None:
    english, other = load_catalogue("en"), load_catalogue(language)
    same = sorted(
        key
        for key, text in other.items()
        if english.get(key) == text
        and key not in SAME_AS_ENGLISH | SAME_WORD.get(language, set())
        and re.search(r"[^\W\d_]{2,}", _NOT_WORDS.sub("", text))
        and not key.startswith("faq.keywords.")
    )
    assert same == []


def test_the_plural_form_follows_the_count() -> None:
    translator = Translator()
    assert "(one try left)" in translator.t("en", "register.chk_wrong", count=1)
    assert "(2 tries left)" in translator.t("en", "register.chk_wrong", count=2)
    assert "(0 tries left)" in translator.t("en", "register.chk_wrong", count=0)
    assert "還可以再試 1 次" in translator.t("zh-Hant", "register.chk_wrong", count=1)
    assert translator.has("register.chk_wrong")


@pytest.mark.parametrize(
    ("language", "count", "category"),
    [
        ("en", 1, "one"),
        ("en", 2, "other"),
        ("de", 1, "one"),
        ("fr", 0, "one"),
        ("fr", 1, "one"),
        ("fr", 2, "other"),
        ("fr", 1_000_000, "many"),
        ("es", 1, "one"),
        ("es", 1_000_000, "many"),
        ("ja", 1, "other"),
        ("zh-Hans", 1, "other"),
        ("zh-Hant", 1, "other"),
    ],
)
def test_cldr_categories(language: str, count: int, category: str) -> None:
    assert category in plurals.categories(language)
    assert plurals.category(language, count) == category


def test_values_are_escaped_but_markup_is_kept() -> None:
    translator = Translator()
    text = translator.t("en", "errors.unknown_command", command="<b>Eve</b> & co")
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in text


def test_a_line_whose_values_are_all_empty_is_left_out() -> None:
    """No "Landing page:" line when the promotion has none; the other lines stay."""
    translator = Translator()
    values = {"promotion": "P", "order_id": "A1", "code": "C"}
    without = translator.t("en", "decisions.approved_code", landing="", **values)
    assert "Landing page" not in without and "<code>C</code>" in without and "\n\n" not in without
    with_page = translator.t("en", "decisions.approved_code", landing="https://x.example", **values)
    assert "Landing page: https://x.example" in with_page


def test_ranges_with_equal_ends_are_one_number() -> None:
    assert number_range(30, 30, "en") == "30"
    assert number_range(7, 14, "en") == "7–14"
    assert number_range(14, 7, "de") == "7–14"


@pytest.mark.parametrize(
    ("first", "last", "language", "expected"),
    [
        ("Wei Ming", "Tan", "en", "Wei Ming Tan"),
        ("美玲", "陳", "zh-Hant", "陳美玲"),
        ("寶", "陳", "zh-Hans", "陳寶"),
        ("Wei", "Tan", "zh-Hant", "Tan Wei"),
        ("花子", "山田", "ja", "山田花子"),
        ("Anna", "", "de", "Anna"),
    ],
)
def test_names_in_the_order_of_the_language(first: str, last: str, language: str, expected: str) -> None:
    assert person_name(first, last, language) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh-CN", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh-hans", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
        ("zh-hant", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("de-AT", "de"),
        ("de", "de"),
        ("fr-CA", "fr"),
        ("es-419", "es"),
        ("ja", "ja"),
        ("en-GB", "en"),
        ("pt-BR", "en"),
        ("pt", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_telegram_language_codes_resolve(monkeypatch: pytest.MonkeyPatch, code: str | None, expected: str) -> None:
    monkeypatch.setattr(locales.i18n, "available_languages", lambda: SEVEN)
    assert Translator().resolve(code) == expected


@pytest.mark.parametrize(("code", "expected"), [("zh-CN", "zh-Hant"), ("zh-TW", "zh-Hant"), ("de-AT", "en")])
def test_the_closest_language_there_is(monkeypatch: pytest.MonkeyPatch, code: str, expected: str) -> None:
    """Before Simplified Chinese exists, a mainland user reads Traditional rather than English."""
    monkeypatch.setattr(locales.i18n, "available_languages", lambda: ("en", "zh-Hant"))
    assert Translator().resolve(code) == expected


@pytest.mark.parametrize("language", available_languages())
def test_every_language_names_itself(language: str) -> None:
    """/language shows each language in its own words ("Deutsch", "日本語"), never twice the same."""
    names = {lang: Translator().t(lang, "profile.language.self_name") for lang in available_languages()}
    assert len(set(names.values())) == len(names)
    if language != "en":
        assert names[language] != names["en"]


@pytest.mark.parametrize(
    ("language", "money", "day"),
    [
        ("en", "50.00 Singapore dollars", "Mar 14, 2026"),
        ("zh-Hant", "50.00 新加坡幣", "2026年3月14日"),
        ("zh-Hans", "50.00新加坡元", "2026年3月14日"),
        ("ja", "50.00シンガポール ドル", "2026/03/14"),
        ("de", "50,00 Singapur-Dollar", "14.03.2026"),
        ("fr", "50,00 dollars de Singapour", "14 mars 2026"),
        ("es", "50,00 dólares singapurenses", "14 mar 2026"),
    ],
)
def test_money_and_dates_in_each_language(language: str, money: str, day: str) -> None:
    """Babel writes both as the reader's language does: decimal comma, currency name, date order."""
    assert format_money("50.00", "SGD", language) == money
    assert format_day(date(2026, 3, 14), language) == day
