"""The registration journey's steps and answers, shared by its modules (register, register_purchase,
register_summary)."""

from __future__ import annotations

import enum
from datetime import date

from babel.dates import format_date

from conversations.journey import Answers
from conversations.turn import Turn
from storage import catalogue
from storage.catalogue_cache import CatalogueEntry
from storage.models import Category, Channel

FLOW = "register"


class S(enum.StrEnum):
    """The steps, in the order they are asked."""

    CATEGORY = "category"
    SERIAL = "serial"
    CONFIRM_PRODUCT = "confirm_product"
    CHK = "chk"
    REGION = "region"
    STORE = "store"
    DATE = "date"
    CHANNEL = "channel"
    INVOICE = "invoice"
    INVOICE_NUMBER = "invoice_number"
    SUMMARY = "summary"


class RegisterAnswers(Answers):
    """What the customer answered so far (the keys the dict-based journey used)."""

    category: Category | None = None
    serial: str | None = None
    product_id: int | None = None
    chk_listed: bool | None = None
    country: str | None = None
    store: str | None = None
    purchase_date: date | None = None
    channel: Channel | None = None
    invoice_path: str | None = None
    invoice_sha256: str | None = None
    invoice_phash: int | None = None
    invoice_number: str | None = None
    editing: bool = False  # a field opened from the summary: its answer returns there

    def after(self, step: S) -> S:
        """Where an answer leads: the next step, or back to the summary when one field was being
        edited (a new region still asks its store)."""
        return S.SUMMARY if self.editing and step is not S.STORE else step


def answers(turn: Turn) -> RegisterAnswers:
    return turn.answers(RegisterAnswers)


async def product(turn: Turn) -> CatalogueEntry | None:
    """The catalogue product the serial matched."""
    product_id = answers(turn).product_id
    return await catalogue.product_by_id(turn.session, product_id) if product_id else None


def babel_locale(language: str) -> str:
    return language.replace("-", "_")


def day(turn: Turn, value: date) -> str:
    return format_date(value, "medium", locale=babel_locale(turn.language))
