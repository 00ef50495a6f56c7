"""A staff reason is told apart from the customer's language by its script (storage/written_language.py)."""

from __future__ import annotations

import pytest

from storage.written_language import is_foreign, script_of


@pytest.mark.parametrize(
    ("text", "language", "foreign"),
    [
        ("The invoice photo is blurry", "zh-Hant", True),
        ("The invoice photo is blurry", "en", False),
        ("發票照片模糊，請重新上傳", "en", True),
        ("發票照片模糊，請重新上傳", "zh-Hant", False),
        ("發票 INV-2026-0042 模糊", "zh-Hant", False),  # an invoice number in a Chinese sentence
        ("INV-0042", "zh-Hant", True),
        ("12345 !!", "zh-Hant", False),  # no letters: nothing to tell
        ("Café déjà vu", "en", False),
    ],
)
def test_is_foreign(text: str, language: str, foreign: bool) -> None:
    assert is_foreign(text, language) is foreign


def test_script_of() -> None:
    assert script_of("a") is None
    assert script_of("ab") == "latin"
    assert script_of("中文") == "han"
