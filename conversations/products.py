"""My products: the member's registered products with warranty, their details, and replacing an invoice.

`/products` (or the menu button) lists every product with its warranty and invoice status; one
global button per product ("g:product:<id>") opens its details with the invoice photo; "Replace
invoice" ("g:invoice:<id>") starts the one-step journey `replace_invoice`.
"""

from __future__ import annotations

import asyncio
import enum
import io
import logging
from datetime import date, datetime

from PIL import Image
from telegram import InlineKeyboardMarkup

from conversations.flow import Flow, Step
from conversations.journey import Action, Answers
from conversations.photos import store_image
from conversations.profile import require_profile
from conversations.replies import main_menu
from conversations.router import GlobalAction, Router
from conversations.turn import Turn
from locales import i18n
from locales.countries import country_name
from locales.i18n import Raw
from storage import products
from storage.eligibility import customer_today
from storage.media import ImageRejected, thumbnail
from storage.models import RegisteredProduct

log = logging.getLogger(__name__)

FLOW = "replace_invoice"


class S(enum.StrEnum):
    PHOTO = "photo"


class ReplaceAnswers(Answers):
    product_id: int | None = None


MESSAGE_BUDGET = 3800  # stay clear of Telegram's 4096 characters per message
BUTTONS_PER_MESSAGE = 50  # Telegram allows 100 inline buttons per message
PHOTO_SIDE = 1280  # the invoice as shown to the customer: readable, and always a valid photo


# ---- formatting shared with the FAQ ---------------------------------------------------------
def format_day(turn: Turn, day: date) -> str:
    """A date as the user's language writes it (Babel, medium: "Mar 3, 2026", "2026年3月3日")."""
    return i18n.format_day(day, turn.language)


def today_for(turn: Turn) -> date:
    """The member's calendar date, from the country they live in."""
    return customer_today(turn.now, turn.member.country if turn.member is not None else None)


def product_label(turn: Turn, product: RegisteredProduct) -> str:
    """'PRO MP241 (BA9H040230046)', escaped for HTML."""
    return turn.t("products.label", name=product.catalogue_product.name, serial=product.serial)


# ---- profile gate ---------------------------------------------------------------------------
async def profile_ready(turn: Turn, then: str) -> bool:
    """True with a complete profile; otherwise the profile journey starts and runs `then` after."""
    return await require_profile(turn, then=then)


# ---- the list -------------------------------------------------------------------------------
def _entry(turn: Turn, index: int, product: RegisteredProduct, today: date) -> str:
    catalogue = product.catalogue_product
    warranty = products.warranty(product, today)
    return turn.t(
        "products.entry",
        index=index,
        name=catalogue.name,
        category=turn.t(f"categories.{catalogue.category}"),
        serial=product.serial,
        purchased=format_day(turn, product.purchase_date),
        months=warranty.months,
        warranty_end=format_day(turn, warranty.ends_on),
        warranty_status=Raw(turn.t("products.in_warranty" if warranty.active else "products.expired")),
        invoice_status=Raw(turn.t("products.invoice_uploaded" if product.invoice_path else "products.invoice_missing")),
    )


def _pages(turn: Turn, items: list[RegisteredProduct], today: date) -> list[tuple[str, list[RegisteredProduct]]]:
    """The list cut into messages under Telegram's limits (text length, 100 buttons), never
    splitting an entry; each message carries the buttons of its own products."""
    pages: list[tuple[str, list[RegisteredProduct]]] = []
    text, shown = turn.t("products.title", count=len(items)), list[RegisteredProduct]()
    for index, product in enumerate(items, start=1):
        entry = _entry(turn, index, product, today)
        if shown and (len(text) + 2 + len(entry) > MESSAGE_BUDGET or len(shown) >= BUTTONS_PER_MESSAGE):
            pages.append((text, shown))
            text, shown = entry, []
        else:
            text = f"{text}\n\n{entry}"
        shown.append(product)
    pages.append((f"{text}\n\n{turn.t('products.open_hint')}", shown))
    return pages


async def show_products(turn: Turn) -> None:
    """/products: every registered product with warranty and invoice status, and a button each."""
    if not await profile_ready(turn, then="products"):
        return
    items = await products.for_member(turn.session, turn.member.id) if turn.member is not None else []
    if not items:
        turn.say("products.none", markup=main_menu(turn))
        return
    for text, shown in _pages(turn, items, today_for(turn)):
        buttons = [
            [
                turn.global_button(
                    turn.t("products.button", name=Raw(p.catalogue_product.name), serial=Raw(p.serial)),
                    f"product:{p.id}",
                )
            ]
            for p in shown
        ]
        turn.say_text(text, markup=InlineKeyboardMarkup(buttons))


# ---- one product ----------------------------------------------------------------------------
async def _owned(turn: Turn, action: Action) -> RegisteredProduct | None:
    """The product a button names, if it is this member's; otherwise a toast says it is gone."""
    product = None
    if turn.member is not None and action.argument.isdecimal():
        product = await products.of_member(turn.session, turn.member.id, int(action.argument))
    if product is None:
        turn.notify("products.not_found")
    return product


def _viewable(data: bytes) -> bytes | None:
    """A copy Telegram accepts as a photo: a stored invoice is at most 1600 px wide but a long
    receipt can be very tall (sendPhoto wants width + height <= 10000, sides within 1:20)."""
    small = thumbnail(data, PHOTO_SIDE)
    with Image.open(io.BytesIO(small)) as img:
        width, height = img.size
    return small if max(width, height) <= 20 * min(width, height) else None


async def _invoice_photo(turn: Turn, product: RegisteredProduct) -> bytes | None:
    if not product.invoice_path:
        return None
    try:
        data = turn.services.media.read(product.invoice_path)
        return await asyncio.to_thread(_viewable, data)
    except (OSError, ValueError, ImageRejected) as exc:  # the file went missing or is damaged
        log.warning("invoice of product %s cannot be shown: %s", product.id, exc)
        return None


def _registered_on(turn: Turn, at: datetime) -> date:
    return customer_today(at, turn.member.country if turn.member is not None else None)


async def open_product(turn: Turn, action: Action) -> None:
    """g:product:<id> — the details, with the invoice photo when there is one."""
    product = await _owned(turn, action)
    if product is None:
        return
    catalogue = product.catalogue_product
    warranty = products.warranty(product, today_for(turn))
    photo = await _invoice_photo(turn, product)
    caption = turn.t(
        "products.details",
        name=catalogue.name,
        category=turn.t(f"categories.{catalogue.category}"),
        model=catalogue.model,
        serial=product.serial,
        purchased=format_day(turn, product.purchase_date),
        store=product.store_name,
        country=country_name(product.purchase_country, turn.language),
        channel=turn.t(f"channels.{product.channel}")
        if turn.services.translator.has(f"channels.{product.channel}")
        else product.channel,
        months=warranty.months,
        warranty_end=format_day(turn, warranty.ends_on),
        warranty_status=Raw(turn.t("products.in_warranty" if warranty.active else "products.expired")),
        registered=format_day(turn, _registered_on(turn, product.registered_at)),
        invoice_status=Raw(turn.t("products.invoice_uploaded" if product.invoice_path else "products.invoice_missing")),
    )
    label = turn.t("products.replace_invoice" if product.invoice_path else "products.add_invoice")
    markup = InlineKeyboardMarkup([[turn.global_button(label, f"invoice:{product.id}")]])
    turn.say_text(caption, markup=markup, photo=photo)


# ---- replace the invoice: a one-step journey --------------------------------------------------
def start_replace(router: Router) -> GlobalAction:
    async def handler(turn: Turn, action: Action) -> None:
        """g:invoice:<id> — asks for the new invoice photo (not in the middle of another journey)."""
        if turn.state is not None and turn.state.flow in router.flows and turn.state.flow != FLOW:
            turn.notify("products.finish_first", alert=True)
            return
        product = await _owned(turn, action)
        if product is None:
            return
        await turn.finish()  # a replacement already asked for another product is dropped
        await turn.go(S.PHOTO, product_id=product.id)

    return handler


async def _pending_product(turn: Turn) -> RegisteredProduct | None:
    product_id = turn.answers(ReplaceAnswers).product_id
    product = None
    if turn.member is not None and product_id is not None:
        product = await products.of_member(turn.session, turn.member.id, product_id)
    if product is None:
        await turn.finish()
        turn.say("products.not_found", markup=main_menu(turn))
    return product


async def ask_invoice(turn: Turn) -> None:
    product = await _pending_product(turn)
    if product is None:
        return
    turn.say("products.ask_invoice", product=Raw(product_label(turn, product)), markup=turn.keyboard([], back=False))


async def on_invoice(turn: Turn) -> None:
    """Stores the photo (normalized by the media store), points the product at it, confirms."""
    product = await _pending_product(turn)
    if product is None:
        return
    stored = await store_image(turn)
    if stored is None:
        return
    assert turn.member is not None
    await products.replace_invoice(
        turn.session,
        member_id=turn.member.id,
        product_id=product.id,
        invoice_path=stored.path,
        invoice_sha256=stored.sha256,
        invoice_phash=stored.phash,
        now=turn.now,
        actor_user_id=turn.user_id,
    )
    await turn.finish()
    turn.say("products.invoice_saved", product=Raw(product_label(turn, product)), markup=main_menu(turn))


def setup(router: Router) -> None:
    """/products and the menu button; the product and replace-invoice buttons; the journey."""
    router.add_flow(Flow(FLOW, {S.PHOTO: Step(ask_invoice, on_photo=on_invoice, expects="photo")}, ReplaceAnswers))
    router.commands["products"] = show_products
    router.actions["product"] = open_product
    router.actions["invoice"] = start_replace(router)
