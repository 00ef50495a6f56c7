"""Loads promotions from an operator's TOML file (one or many `[[promotions]]`), upserting by slug.

The format is documented at the top of `storage/demo/promotion.toml` and validated as
`PromotionTable`. The whole file is validated before anything is written and every problem is
reported at once, each naming the file, the promotion (index and slug), the field and what is
wrong (`storage.file_errors`). The checks between fields (a cashback prize's amount, the rules
against the prize kind and period) are made once those fields are valid; the checks between
promotions and against the catalogue (slugs used once, eligible models known) for the promotions
that are valid. Loading never deletes a promotion.

Defaults: `invoice_dates` = `period`; `redeem_limit_per_email` = 1; `timezone` = "UTC";
`code_pattern` = the guide's AAAAA-BBBBB-CCCCC; `processing_days` (the review) = the guide's 7-14
working days for every prize kind (what follows the approval — cashback paid within 30 working
days, a physical prize delivered in 8-12 weeks — is storage.fulfilment's promise, counted from the
approval); `lucky_draw.answer_days` = 14; `lucky_draw.ships` = true (a winner gives an address).
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import Field, PlainValidator, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.file_errors import FileLoadError, FileProblem, several
from storage.file_models import Bool, FileDate, FileModel, PositiveInt, Regex, parse_country, read_toml, validate
from storage.models import CatalogueProduct, PrizeKind, Promotion
from storage.texts import FALLBACK_LANGUAGE

PromotionFileError = FileLoadError  # the name the CLI and older code use; one error for every file

DEFAULT_CODE_PATTERN = r"^[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}$"
# The review promise is the same for every kind (the guide: "checked by staff within 7-14 working days").
DEFAULT_PROCESSING_DAYS = {PrizeKind.DIGITAL_CODE: (7, 14), PrizeKind.CASHBACK: (7, 14), PrizeKind.PHYSICAL: (7, 14)}
SLUG_SHAPE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
CURRENCY_SHAPE = re.compile(r"[A-Z]{3}")
DEFAULT_DRAW_ANSWER_DAYS = 14  # days a lucky-draw winner has to claim the prize before a reserve takes it


# ---------------------------------------------------------------- the values of a promotions file


def parse_slug(value: Any) -> str:
    if not isinstance(value, str) or not SLUG_SHAPE.fullmatch(value):
        raise ValueError(f"must be lower-case letters, digits and dashes (at most 64), got {value!r}")
    return value


def parse_texts(value: Any) -> dict[str, str]:
    """Text per language, e.g. {en = "…", zh-Hant = "…"}; English is the fallback (`storage.texts`), so required."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f'must be a table of texts per language, like {{en = "…"}}, got {value!r}')
    for lang, text in value.items():
        if not LANGUAGE_TAG.fullmatch(lang):
            raise ValueError(f"{lang!r} is not a language tag like 'en' or 'zh-Hant'")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"the {lang} text must be non-empty")
    if FALLBACK_LANGUAGE not in value:
        raise ValueError(f"needs an {FALLBACK_LANGUAGE!r} text (the fallback language)")
    return {lang: text.strip() for lang, text in value.items()}


def parse_models(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"must be a non-empty list of catalogue models, got {value!r}")
    return list(dict.fromkeys(v.strip() for v in value))


def parse_countries(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError(f'must be a non-empty list of ISO country codes like ["SG", "TW"], got {value!r}')
    return list(dict.fromkeys(parse_country(v) for v in value))


def parse_prize_kind(value: Any) -> str:
    if value not in {k.value for k in PrizeKind}:
        raise ValueError(f"unknown prize kind {value!r} (expected one of {', '.join(k.value for k in PrizeKind)})")
    return str(value)


def parse_amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount <= 0 or not isinstance(exponent, int) or exponent < -2:
        raise ValueError(f"must be a positive amount with at most 2 decimals, got {value!r}")
    return amount.quantize(Decimal("0.01"))


def parse_currency(value: Any) -> str:
    if not isinstance(value, str) or not CURRENCY_SHAPE.fullmatch(value.strip().upper()):
        raise ValueError(f"must be a 3-letter ISO 4217 code like 'SGD', got {value!r}")
    return value.strip().upper()


def parse_url(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return str(value)


def parse_timezone(value: Any) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {value!r} (expected an IANA name like 'Asia/Singapore')") from None
    return str(value)


Slug = Annotated[str, PlainValidator(parse_slug)]
Texts = Annotated[dict[str, str], PlainValidator(parse_texts)]
Models = Annotated[list[str], PlainValidator(parse_models)]
Countries = Annotated[list[str], PlainValidator(parse_countries)]
PrizeKindName = Annotated[str, PlainValidator(parse_prize_kind)]
Amount = Annotated[Decimal, PlainValidator(parse_amount)]
Currency = Annotated[str, PlainValidator(parse_currency)]
Url = Annotated[str, PlainValidator(parse_url)]
TimeZone = Annotated[str, PlainValidator(parse_timezone)]


# ---------------------------------------------------------------- the tables of a promotion


class DateRange(FileModel):
    start: FileDate
    end: FileDate

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.end < self.start:
            raise several([("", f"end {self.end} is before start {self.start}")])
        return self


class Prize(FileModel):
    kind: PrizeKindName
    amount: Amount | None = None  # cashback only, and required there
    currency: Currency | None = None
    description: Texts = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cashback_has_an_amount(self) -> Self:
        found: list[tuple[str, str]] = []
        if self.kind == PrizeKind.CASHBACK:
            for key in ("amount", "currency"):
                if getattr(self, key) is None:
                    found.append((key, "is missing (a cashback prize needs an amount and a currency)"))
        elif self.amount is not None or self.currency is not None:
            found.append(("", "only a cashback prize has an amount and currency"))
        if found:
            raise several(found)
        return self


class LuckyDraw(FileModel):
    enabled: Bool
    prize: Texts | None = None  # required when enabled
    draw_date: FileDate | None = None
    answer_days: PositiveInt = DEFAULT_DRAW_ANSWER_DAYS
    ships: Bool = True  # the prize is shipped: a winner who claims it is asked for the address

    @model_validator(mode="after")
    def _enabled_has_a_prize(self) -> Self:
        if self.enabled and self.prize is None:
            raise several([("prize", "is missing (an enabled lucky draw needs its prize)")])
        return self


class ProcessingDays(FileModel):
    """Working days promised for the review; either bound left out takes the prize kind's default."""

    min: PositiveInt | None = None
    max: PositiveInt | None = None


class Rules(FileModel):
    """Rules seen in the field; each is off when left out."""

    cooling_off_days: PositiveInt | None = None
    household_limit: PositiveInt | None = None
    redeem_deadline: FileDate | None = None
    residence_only: Bool = False
    while_stock_lasts: Bool = False
    stock: PositiveInt | None = None


class PromotionTable(FileModel):
    """One `[[promotions]]` table."""

    slug: Slug
    name: Texts
    period: DateRange
    invoice_dates: DateRange | None = None  # defaults to `period`
    redeem_limit_per_email: PositiveInt = 1
    eligible_models: Models
    eligible_countries: Countries
    prize: Prize
    landing_url: Url | None = None
    guide_url: Url | None = None
    lucky_draw: LuckyDraw | None = None
    processing_days: ProcessingDays = Field(default_factory=ProcessingDays)
    code_pattern: Regex = DEFAULT_CODE_PATTERN
    timezone: TimeZone = "UTC"
    rules: Rules = Field(default_factory=Rules)

    @property
    def processing(self) -> tuple[int, int]:
        low, high = DEFAULT_PROCESSING_DAYS.get(PrizeKind(self.prize.kind), (7, 14))
        return self.processing_days.min or low, self.processing_days.max or high

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        found: list[tuple[str, str]] = []
        low, high = self.processing
        if low > high:
            found.append(("processing_days", f"min {low} is greater than max {high}"))
        draw_date = self.lucky_draw.draw_date if self.lucky_draw else None
        if draw_date and draw_date < self.period.start:
            found.append(("lucky_draw.draw_date", f"{draw_date} is before the promotion starts ({self.period.start})"))
        found.extend(self._rule_problems())
        if found:
            raise several(found)
        return self

    def _rule_problems(self) -> list[tuple[str, str]]:
        rules, kind, found = self.rules, self.prize.kind, []
        if rules.redeem_deadline and rules.redeem_deadline < self.period.end:
            message = f"{rules.redeem_deadline} is before the promotion period ends ({self.period.end})"
            found.append(("rules.redeem_deadline", message))
        if rules.stock is not None and kind != PrizeKind.PHYSICAL:
            found.append(("rules.stock", "only a physical prize has a stock (codes are counted from imported codes)"))
        if rules.while_stock_lasts and kind == PrizeKind.CASHBACK:
            found.append(("rules.while_stock_lasts", "a cashback prize has no stock to run out of"))
        if rules.while_stock_lasts and kind == PrizeKind.PHYSICAL and rules.stock is None:
            found.append(("rules.stock", "is missing (while_stock_lasts with a physical prize needs the stock)"))
        return found

    def columns(self) -> dict[str, Any]:
        """The `promotions` row."""
        invoices = self.invoice_dates or self.period
        draw = self.lucky_draw or LuckyDraw(enabled=False)
        low, high = self.processing
        return {
            "slug": self.slug,
            "names": self.name,
            "starts_on": self.period.start,
            "ends_on": self.period.end,
            "invoice_from": invoices.start,
            "invoice_to": invoices.end,
            "redeem_limit_per_email": self.redeem_limit_per_email,
            "eligible_models": self.eligible_models,
            "eligible_countries": self.eligible_countries,
            "landing_url": self.landing_url,
            "guide_url": self.guide_url,
            "code_pattern": self.code_pattern,
            "timezone": self.timezone,
            "prize_kind": self.prize.kind,
            "cashback_amount": self.prize.amount,
            "currency": self.prize.currency,
            "prize_description": self.prize.description,
            "processing_days_min": low,
            "processing_days_max": high,
            "lucky_draw": draw.enabled,
            "draw_prize": draw.prize or {},
            "draw_date": draw.draw_date,
            "draw_answer_days": draw.answer_days,
            "draw_prize_ships": draw.ships,
            "cooling_off_days": self.rules.cooling_off_days,
            "household_limit": self.rules.household_limit,
            "redeem_deadline": self.rules.redeem_deadline,
            "residence_only": self.rules.residence_only,
            "while_stock_lasts": self.rules.while_stock_lasts,
            "prize_stock": self.rules.stock,
        }


# ---------------------------------------------------------------- loading


def _where(index: int, table: Any) -> str:
    slug = table.get("slug") if isinstance(table, dict) else None
    return f"promotions[{index}] ({slug})" if isinstance(slug, str) and slug else f"promotions[{index}]"


def _parse(data: dict[str, Any]) -> tuple[list[tuple[str, PromotionTable]], list[FileProblem]]:
    problems = [FileProblem(f"unknown table {key!r} (expected [[promotions]])") for key in data if key != "promotions"]
    tables = data.get("promotions")
    if not isinstance(tables, list) or not tables:
        return [], [*problems, FileProblem("no [[promotions]] tables")]
    parsed = []
    for index, table in enumerate(tables, start=1):
        where = _where(index, table)
        promotion = validate(PromotionTable, table, where, problems)
        if promotion is not None:
            parsed.append((where, promotion))
    return parsed, problems


async def _check_references(
    session: AsyncSession, parsed: list[tuple[str, PromotionTable]], problems: list[FileProblem]
) -> None:
    """Slugs unique in the file; every eligible model must be in the catalogue (load that first)."""
    seen: dict[str, str] = {}
    wanted = {model for _, promotion in parsed for model in promotion.eligible_models}
    query = select(CatalogueProduct.model).where(CatalogueProduct.model.in_(wanted))
    known = set(await session.scalars(query)) if wanted else set()
    for where, promotion in parsed:
        if promotion.slug in seen:
            problems.append(FileProblem(f"{promotion.slug!r} is already used by {seen[promotion.slug]}", where, "slug"))
        seen.setdefault(promotion.slug, where)
        for model in promotion.eligible_models:
            if model not in known:
                message = f"unknown model {model!r} (load the catalogue first)"
                problems.append(FileProblem(message, where, "eligible_models"))


async def load_promotions_file(session: AsyncSession, path: Path, data: dict[str, Any] | None = None) -> list[str]:
    """Validates the whole file, then upserts each promotion by slug; returns the slugs in file order.
    `data`: the file's tables as already read (and changed, as the demo moves its dates); `path` then
    only names them in problems."""
    path = Path(path)
    parsed, problems = _parse(read_toml(path) if data is None else data)
    await _check_references(session, parsed, problems)
    if problems:
        raise FileLoadError(path, problems)
    slugs = [promotion.slug for _, promotion in parsed]
    existing = {p.slug: p for p in await session.scalars(select(Promotion).where(Promotion.slug.in_(slugs)))}
    for _, promotion in parsed:
        values = promotion.columns()
        row = existing.get(promotion.slug)
        if row is None:
            session.add(Promotion(**values))
            continue
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
    await session.flush()
    return slugs
