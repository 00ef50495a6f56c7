"""Dates as customers type and read them: the order of day and month by country, the Taiwan
(ROC, 民國) and Japanese era years, month names of every catalogue, and the week of a calendar.

Reading (`read_date`):
- ISO and year-first forms always work: 2026-03-03, 2026/3/3, 2026.03.03, 20260303.
- Day and month with the year last follow the customer's country: month first in the US (and the
  territories and countries that write it so, `MONTH_FIRST`), day first elsewhere. When only the other
  order makes a month of it (13/03/2026 typed in the US), that order is taken.
- Chinese and Japanese forms: 2026年3月3日, 民國115年3月3日, 115年3月3日, 令和8年3月3日; and the ROC year
  that Taiwan invoices print, 115/3/3 (a year of three digits, or two when the customer lives in Taiwan).
- Month names in any catalogue's language: "Mar 3, 2026", "3 March 2026", "3. März 2026", "3 mars 2026",
  "3 de marzo de 2026" — so the example each language shows (`babel` medium format) is read back.
A day the month does not have (31/02/2026) is `DateError.NO_SUCH_DAY`, not "unreadable".
"""

from __future__ import annotations

import calendar
import enum
import re
import unicodedata
from datetime import date
from functools import cache

from babel import Locale
from babel.dates import format_date, get_day_names, get_month_names
from babel.lists import format_list

from locales import available_languages

# Where people write the month before the day (CLDR's short date patterns, "M/d/yy").
MONTH_FIRST = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM", "PH", "FM", "MH", "PW"})
ROC_OFFSET = 1911  # 民國 1 = 1912
MONTH_NAME_LANGUAGES = ("de", "fr", "es")  # read in any chat: a German customer may write in English
ERAS = {"民國": ROC_OFFSET, "民国": ROC_OFFSET, "令和": 2018, "平成": 1988}


class DateError(enum.StrEnum):
    UNREADABLE = "unreadable"
    NO_SUCH_DAY = "no_such_day"  # a real month, a day it does not have: 31/02, 29/02/2027


def month_first(country: str | None) -> bool:
    return (country or "").upper() in MONTH_FIRST


def _babel(language: str) -> str:
    return language.replace("-", "_")


def _build(year: int, month: int, day: int) -> date | DateError:
    if not 1 <= month <= 12 or not 1 <= day <= 31 or not 1900 <= year <= 2200:
        return DateError.UNREADABLE
    if day > calendar.monthrange(year, month)[1]:
        return DateError.NO_SUCH_DAY
    return date(year, month, day)


def _year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


_CJK = re.compile(r"^(?P<era>民國|民国|令和|平成)?(?P<y>\d{1,4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号號]?$")
_NUMERIC = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})\.?$")


def _numeric(a: str, b: str, c: str, country: str | None) -> date | DateError:
    if len(a) == 4:
        return _build(int(a), int(b), int(c))
    taiwan = (country or "").upper() == "TW"
    if len(c) <= 2 and (len(a) == 3 or (taiwan and len(a) == 2)):
        return _build(int(a) + ROC_OFFSET, int(b), int(c))  # 115/3/3 on a Taiwan invoice
    if len(c) not in (2, 4):
        return DateError.UNREADABLE
    first, second = int(a), int(b)
    day, month = (second, first) if month_first(country) else (first, second)
    if month > 12 >= day:  # only the other order makes a month of it
        day, month = month, day
    return _build(_year(c), month, day)


@cache
def _month_words(language: str) -> dict[str, int]:
    """Month names and abbreviations → number: the customer's language first, then every catalogue's."""
    words: dict[str, int] = {}
    for lang in (language, "en", *MONTH_NAME_LANGUAGES, *available_languages()):
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in get_month_names(width, context, _babel(lang)).items():
                    words.setdefault(str(name).lower().rstrip("."), int(number))
    return {word: number for word, number in words.items() if not word.isdigit()}


_FILLERS = {"de", "del", "of", "the", "le", "den", "der"}


def _with_month_name(text: str, language: str) -> date | DateError:
    tokens = [t for t in re.split(r"[\s,./-]+", text) if t and t not in _FILLERS]
    tokens = [re.sub(r"^(\d{1,2})(st|nd|rd|th|er|º|°)$", r"\1", t) for t in tokens]
    words = _month_words(language)
    months = [words[t] for t in tokens if t in words]
    numbers = [t for t in tokens if t.isdigit()]
    if len(months) != 1 or len(numbers) != 2 or len(tokens) != 3:
        return DateError.UNREADABLE
    years = [n for n in numbers if len(n) == 4]
    days = [n for n in numbers if len(n) <= 2]
    if len(years) != 1 or len(days) != 1:
        return DateError.UNREADABLE
    return _build(int(years[0]), months[0], int(days[0]))


def read_date(text: str, language: str, country: str | None) -> date | DateError:
    """A typed purchase date, read the way the customer's country writes it (see the module's doc)."""
    cleaned = unicodedata.normalize("NFKC", text).strip().lower()
    cleaned = re.sub(r"\s+", " ", cleaned)
    compact = cleaned.replace(" ", "")
    found = _CJK.match(compact)
    if found:
        year = int(found["y"])
        if found["era"]:
            year += ERAS[found["era"]]
        elif year < 1000:
            year += ROC_OFFSET  # 115年3月3日 is a ROC year
        return _build(year, int(found["m"]), int(found["d"]))
    if re.fullmatch(r"\d{8}", compact):
        return _build(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
    found = _NUMERIC.match(compact)
    if found:
        first, second, third = found.groups()
        return _numeric(first, second, third, country)
    return _with_month_name(cleaned, language)


def numeric_example(day: date, country: str | None) -> str:
    """The numeric date as the country writes it: 03/14/2026 (US), 14/03/2026, 115/3/14 (Taiwan)."""
    if (country or "").upper() == "TW":
        return f"{day.year - ROC_OFFSET}/{day.month}/{day.day}"
    if month_first(country):
        return f"{day:%m/%d/%Y}"
    return f"{day:%d/%m/%Y}"


def examples(day: date, language: str, country: str | None) -> str:
    """ "14/03/2026 or 2026-03-14" in the language's words: forms `read_date` reads back."""
    forms = list(dict.fromkeys([numeric_example(day, country), day.isoformat()]))
    return str(format_list(forms, style="or", locale=_babel(language)))


def medium(day: date, language: str) -> str:
    """A date as the language writes it ("Mar 3, 2026", "3. März 2026", "2026年3月3日")."""
    return str(format_date(day, "medium", locale=_babel(language)))


def first_weekday(country: str | None) -> int:
    """0 = Monday … 6 = Sunday, as calendars in the country start the week (CLDR week data)."""
    try:
        return int(Locale.parse(f"und_{(country or '001').upper()}").first_week_day)
    except (ValueError, LookupError):
        return 0


def weekday_names(language: str, first: int) -> list[str]:
    """Short weekday names for a calendar's header row, starting with `first` ("Mo", "一", "月")."""
    names = get_day_names("short", "stand-alone", _babel(language))
    return [str(names[(first + offset) % 7]) for offset in range(7)]
