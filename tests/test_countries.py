"""Country names in each language and search by typing (no bot needed)."""

from __future__ import annotations

import pytest

from locales.countries import COMMON_COUNTRIES, all_codes, country_name, exact_country, search_countries
from storage.catalogue import ISO_COUNTRIES


def test_names_are_localized_and_short() -> None:
    assert country_name("SG", "en") == "Singapore"
    assert country_name("SG", "zh-Hant") == "新加坡"
    assert country_name("TW", "zh-Hant") == "台灣"
    assert country_name("HK", "en") == "Hong Kong" and country_name("HK", "zh-Hant") == "香港"
    assert country_name("de", "xx") == "Germany"  # unknown language: English
    assert country_name("QQ", "en") == "QQ"


def test_only_iso_codes_storage_accepts() -> None:
    assert set(all_codes()) == set(ISO_COUNTRIES)
    assert set(COMMON_COUNTRIES) <= set(ISO_COUNTRIES)
    assert "EU" not in all_codes() and "UN" not in all_codes()


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SG", "SG"),
        ("sg", "SG"),
        ("Singapore", "SG"),
        ("singapore ", "SG"),
        ("新加坡", "SG"),
        ("Deutschland", "DE"),
        ("UK", "GB"),
        ("臺灣", "TW"),
        ("cote d'ivoire", "CI"),
    ],
)
def test_exact_answers_are_one_country(query: str, code: str) -> None:
    assert exact_country(query) == code
    assert search_countries(query, "en") == [code]


def test_partial_names_in_any_language() -> None:
    assert search_countries("sing", "en") == ["SG"]
    assert search_countries("新加", "en") == ["SG"]
    assert search_countries("deutsch", "zh-Hant") == ["DE"]
    assert {"GB", "US", "AE"} <= set(search_countries("united", "en"))
    assert search_countries("hong", "en")[0] == "HK"
    assert len(search_countries("a", "en")) == 8 and len(search_countries("a", "en", limit=3)) == 3
    assert search_countries("zzzz", "en") == [] and search_countries("  ", "en") == []
