"""Loads promotions from an operator's TOML file (one or many `[[promotions]]`), upserting by slug.

The format is documented at the top of `storage/demo/promotion.toml`. The whole file is validated
before anything is written and every problem is reported at once, each naming the promotion
(index and slug), the field and what is wrong. Loading never deletes a promotion.

Defaults: `invoice_dates` = `period`; `redeem_limit_per_email` = 1; `timezone` = "UTC";
`code_pattern` = the guide's AAAAA-BBBBB-CCCCC; `processing_days` by prize kind (digital code 7-14,
cashback 30-30, physical 40-60 working days, as the design promises); `lucky_draw.answer_days` = 14.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalogue import parse_country, parse_date, parse_regex
from storage.models import CatalogueProduct, PrizeKind, Promotion

DEFAULT_CODE_PATTERN = r"^[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}$"
DEFAULT_PROCESSING_DAYS = {PrizeKind.DIGITAL_CODE: (7, 14), PrizeKind.CASHBACK: (30, 30), PrizeKind.PHYSICAL: (40, 60)}
SLUG_SHAPE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
CURRENCY_SHAPE = re.compile(r"[A-Z]{3}")
DEFAULT_DRAW_ANSWER_DAYS = 14  # days a lucky-draw winner has to claim the prize before a reserve takes it

_KEYS = {
    "": ("slug", "name", "period", "invoice_dates", "redeem_limit_per_email", "eligible_models", "eligible_countries",
         "prize", "landing_url", "guide_url", "lucky_draw", "processing_days", "code_pattern", "timezone", "rules"),
    "rules": ("cooling_off_days", "household_limit", "redeem_deadline", "residence_only", "while_stock_lasts", "stock"),
    "period": ("start", "end"),
    "invoice_dates": ("start", "end"),
    "prize": ("kind", "amount", "currency", "description"),
    "lucky_draw": ("enabled", "prize", "draw_date", "answer_days"),
    "processing_days": ("min", "max"),
}


class PromotionFileError(Exception):
    """A promotions file cannot be loaded; the message names the file, promotion, field and problem."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"{path}: {self.problems[0]}"
        else:
            message = f"{path}: {len(self.problems)} problems:\n" + "\n".join(f"  {p}" for p in self.problems)
        super().__init__(message)


class _Invalid(ValueError):
    """One value's problem; the caller prefixes where the value is."""


class _Reader:
    """Reads one promotion's fields, collecting problems instead of stopping at the first."""

    def __init__(self, table: dict[str, Any], where: str, problems: list[str]) -> None:
        self.table, self.where, self.problems = table, where, problems

    def fail(self, key: str, problem: str) -> None:
        self.problems.append(f"{self.where}: {key}: {problem}")

    def get(self, key: str, parse: Callable[[Any], Any], *, required: bool = True, default: Any = None) -> Any:
        """`key` may be dotted (`prize.kind`): the value inside a sub-table."""
        value: Any = self.table
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            if required:
                self.fail(key, "is missing")
            return default
        try:
            return parse(value)
        except ValueError as exc:  # _Invalid here, or the one of the parsers shared with storage.catalogue
            self.fail(key, str(exc))
            return default

    def check_keys(self) -> None:
        for section, allowed in _KEYS.items():
            table = self.table.get(section) if section else self.table
            if section and table is not None and not isinstance(table, dict):
                self.fail(section, f"must be a table like {section} = {{{', '.join(f'{k} = …' for k in allowed)}}}")
                continue
            for key in table or {}:
                if key not in allowed:
                    name = f"{section}.{key}" if section else key
                    self.fail(name, f"unknown field (expected one of {', '.join(allowed)})")


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not SLUG_SHAPE.fullmatch(value):
        raise _Invalid(f"must be lower-case letters, digits and dashes (at most 64), got {value!r}")
    return value


def _texts(value: Any) -> dict[str, str]:
    """Text per language, e.g. {en = "…", zh-Hant = "…"}; English is the fallback, so it is required."""
    if not isinstance(value, dict) or not value:
        raise _Invalid(f'must be a table of texts per language, like {{en = "…"}}, got {value!r}')
    for lang, text in value.items():
        if not LANGUAGE_TAG.fullmatch(lang):
            raise _Invalid(f"{lang!r} is not a language tag like 'en' or 'zh-Hant'")
        if not isinstance(text, str) or not text.strip():
            raise _Invalid(f"the {lang} text must be non-empty")
    if "en" not in value:
        raise _Invalid("needs an 'en' text (the fallback language)")
    return {lang: text.strip() for lang, text in value.items()}


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Invalid(f"must be a positive whole number, got {value!r}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, got {value!r}")
    return value


def _models(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise _Invalid(f"must be a non-empty list of catalogue models, got {value!r}")
    return list(dict.fromkeys(v.strip() for v in value))


def _countries(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _Invalid(f'must be a non-empty list of ISO country codes like ["SG", "TW"], got {value!r}')
    return list(dict.fromkeys(parse_country(v) for v in value))


def _prize_kind(value: Any) -> str:
    if value not in {k.value for k in PrizeKind}:
        raise _Invalid(f"unknown prize kind {value!r} (expected one of {', '.join(k.value for k in PrizeKind)})")
    return str(value)


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise _Invalid(f"must be a positive amount with at most 2 decimals, got {value!r}")
    return amount.quantize(Decimal("0.01"))


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not CURRENCY_SHAPE.fullmatch(value.strip().upper()):
        raise _Invalid(f"must be a 3-letter ISO 4217 code like 'SGD', got {value!r}")
    return value.strip().upper()


def _url(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise _Invalid(f"must be an http(s) URL, got {value!r}")
    return str(value)


def _timezone(value: Any) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise _Invalid(f"unknown time zone {value!r} (expected an IANA name like 'Asia/Singapore')") from None
    return str(value)


def _date_range(reader: _Reader, key: str, required: bool) -> tuple[date | None, date | None]:
    if not required and reader.table.get(key) is None:
        return None, None
    start = reader.get(f"{key}.start", parse_date)
    end = reader.get(f"{key}.end", parse_date)
    if start and end and end < start:
        reader.fail(key, f"end {end} is before start {start}")
    return start, end


def _prize(reader: _Reader, values: dict[str, Any]) -> None:
    kind = reader.get("prize.kind", _prize_kind)
    amount = reader.get("prize.amount", _amount, required=False)
    currency = reader.get("prize.currency", _currency, required=False)
    prize = reader.table.get("prize") if isinstance(reader.table.get("prize"), dict) else {}
    if kind == PrizeKind.CASHBACK:
        for key in ("amount", "currency"):
            if prize.get(key) is None:
                reader.fail(f"prize.{key}", "is missing (a cashback prize needs an amount and a currency)")
    elif kind and (amount is not None or currency is not None):
        reader.fail("prize", "only a cashback prize has an amount and currency")
        amount = currency = None
    values.update(
        prize_kind=kind,
        cashback_amount=amount,
        currency=currency,
        prize_description=reader.get("prize.description", _texts, required=False, default={}),
    )
    low, high = DEFAULT_PROCESSING_DAYS.get(kind, (7, 14))
    low = reader.get("processing_days.min", _positive_int, required=False, default=low)
    high = reader.get("processing_days.max", _positive_int, required=False, default=high)
    if low > high:
        reader.fail("processing_days", f"min {low} is greater than max {high}")
    values.update(processing_days_min=low, processing_days_max=high)


def _lucky_draw(reader: _Reader, values: dict[str, Any], starts_on: date | None) -> None:
    enabled = bool(reader.get("lucky_draw.enabled", _bool, required="lucky_draw" in reader.table, default=False))
    prize = reader.get("lucky_draw.prize", _texts, required=enabled, default={})
    draw_date = reader.get("lucky_draw.draw_date", parse_date, required=False)
    if draw_date and starts_on and draw_date < starts_on:
        reader.fail("lucky_draw.draw_date", f"{draw_date} is before the promotion starts ({starts_on})")
    answer_days = reader.get("lucky_draw.answer_days", _positive_int, required=False, default=DEFAULT_DRAW_ANSWER_DAYS)
    values.update(lucky_draw=enabled, draw_prize=prize, draw_date=draw_date, draw_answer_days=answer_days)


def _rules(reader: _Reader, values: dict[str, Any], ends_on: date | None) -> None:
    """Optional rules seen in the field; each is off when left out."""
    deadline = reader.get("rules.redeem_deadline", parse_date, required=False)
    if deadline and ends_on and deadline < ends_on:
        reader.fail("rules.redeem_deadline", f"{deadline} is before the promotion period ends ({ends_on})")
    while_stock_lasts = bool(reader.get("rules.while_stock_lasts", _bool, required=False, default=False))
    stock = reader.get("rules.stock", _positive_int, required=False)
    if stock is not None and values.get("prize_kind") != PrizeKind.PHYSICAL:
        reader.fail("rules.stock", "only a physical prize has a stock (codes are counted from the imported codes)")
    if while_stock_lasts and values.get("prize_kind") == PrizeKind.CASHBACK:
        reader.fail("rules.while_stock_lasts", "a cashback prize has no stock to run out of")
    if while_stock_lasts and values.get("prize_kind") == PrizeKind.PHYSICAL and stock is None:
        reader.fail("rules.stock", "is missing (while_stock_lasts with a physical prize needs the stock)")
    values.update(
        cooling_off_days=reader.get("rules.cooling_off_days", _positive_int, required=False),
        household_limit=reader.get("rules.household_limit", _positive_int, required=False),
        redeem_deadline=deadline,
        residence_only=bool(reader.get("rules.residence_only", _bool, required=False, default=False)),
        while_stock_lasts=while_stock_lasts,
        prize_stock=stock,
    )


def _promotion(table: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """The validated column values of one `[[promotions]]` table."""
    reader = _Reader(table, where, problems)
    reader.check_keys()
    starts_on, ends_on = _date_range(reader, "period", required=True)
    invoice_from, invoice_to = _date_range(reader, "invoice_dates", required=False)
    values: dict[str, Any] = {
        "slug": reader.get("slug", _slug),
        "names": reader.get("name", _texts),
        "starts_on": starts_on,
        "ends_on": ends_on,
        "invoice_from": invoice_from or starts_on,
        "invoice_to": invoice_to or ends_on,
        "redeem_limit_per_email": reader.get("redeem_limit_per_email", _positive_int, required=False, default=1),
        "eligible_models": reader.get("eligible_models", _models),
        "eligible_countries": reader.get("eligible_countries", _countries),
        "landing_url": reader.get("landing_url", _url, required=False),
        "guide_url": reader.get("guide_url", _url, required=False),
        "code_pattern": reader.get("code_pattern", parse_regex, required=False, default=DEFAULT_CODE_PATTERN),
        "timezone": reader.get("timezone", _timezone, required=False, default="UTC"),
    }
    _prize(reader, values)
    _lucky_draw(reader, values, starts_on)
    _rules(reader, values, ends_on)
    return values


def _where(index: int, table: Any) -> str:
    slug = table.get("slug") if isinstance(table, dict) else None
    return f"promotions[{index}] ({slug})" if isinstance(slug, str) and slug else f"promotions[{index}]"


def _parse(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise PromotionFileError(path, ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise PromotionFileError(path, [f"not UTF-8 text (byte {exc.start})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PromotionFileError(path, [f"TOML syntax error: {exc}"]) from None
    problems = [f"unknown table {key!r} (expected [[promotions]])" for key in data if key != "promotions"]
    tables = data.get("promotions")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        return [], [*problems, "no [[promotions]] tables"]
    parsed = []
    for index, table in enumerate(tables, start=1):
        where = _where(index, table)
        parsed.append((where, _promotion(table, where, problems)))
    return parsed, problems


async def _check_references(session: AsyncSession, parsed: list[tuple[str, dict[str, Any]]], problems: list[str]) -> None:
    """Slugs unique in the file; every eligible model must be in the catalogue (load that first)."""
    seen: dict[str, str] = {}
    wanted = {m for _, values in parsed for m in values["eligible_models"] or []}
    known = set(await session.scalars(select(CatalogueProduct.model).where(CatalogueProduct.model.in_(wanted)))) if wanted else set()
    for where, values in parsed:
        slug = values["slug"]
        if slug in seen:
            problems.append(f"{where}: slug: {slug!r} is already used by {seen[slug]}")
        if slug:
            seen.setdefault(slug, where)
        for model in values["eligible_models"] or []:
            if model not in known:
                problems.append(f"{where}: eligible_models: unknown model {model!r} (load the catalogue first)")


async def load_promotions_file(session: AsyncSession, path: Path) -> list[str]:
    """Validates the whole file, then upserts each promotion by slug; returns the slugs in file order."""
    path = Path(path)
    parsed, problems = _parse(path)
    await _check_references(session, parsed, problems)
    if problems:
        raise PromotionFileError(path, problems)
    slugs = [values["slug"] for _, values in parsed]
    existing = {p.slug: p for p in await session.scalars(select(Promotion).where(Promotion.slug.in_(slugs)))}
    for _, values in parsed:
        row = existing.get(values["slug"])
        if row is None:
            session.add(Promotion(**values))
            continue
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
    await session.flush()
    return slugs
