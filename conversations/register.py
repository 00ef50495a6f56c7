"""Registering a product, one question at a time (the guide's Steps 1 to 5-3).

category → serial (catalogue look-up, confirm) → CHK → region → store → purchase date
→ channel → invoice photo → summary → confirm. Each answer is committed with the next step.
"""

from __future__ import annotations

import calendar
import enum
import re
from datetime import date, datetime, timedelta

from babel.dates import format_date
from telegram import InlineKeyboardMarkup

from bot.assets import asset_path, serial_asset
from locales.countries import COMMON_COUNTRIES, country_name, search_countries
from storage.media import thumbnail
from conversations.flow import Flow, Step
from conversations.photos import received_serials, store_image
from conversations.products import today_for
from conversations.replies import main_menu
from conversations.router import Router
from conversations.turn import Turn
from storage.photo_intake import PhotoUse
from storage import catalogue, registration
from storage.models import Category, CatalogueProduct, Channel

FLOW = "register"
MAX_STORE_NAME = 120
MAX_STORE_BUTTONS = 30  # Telegram allows 100 buttons; a longer list is unusable anyway
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%Y.%m.%d")


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


def latest_calendar_date(now: datetime) -> date:
    """The latest date it is anywhere on Earth (UTC+14): a purchase made 'today' in Kiribati is not in the future."""
    return (now + timedelta(hours=14)).date()


def _babel_locale(language: str) -> str:
    return language.replace("-", "_")


def _date(turn: Turn, value: date) -> str:
    return format_date(value, "medium", locale=_babel_locale(turn.language))


async def _product(turn: Turn) -> CatalogueProduct | None:
    product_id = turn.data.get("product_id")
    return await catalogue.product_by_id(turn.session, product_id) if product_id else None


async def _after_answer(turn: Turn, next_step: S, **answers: object) -> None:
    """Saves the answer and asks the next question, or returns to the summary when editing."""
    target = S.SUMMARY if turn.data.get("editing") and next_step is not S.STORE else next_step
    await turn.move(FLOW, target, **answers)
    await STEPS[target].prompt(turn)


# ---- entry ------------------------------------------------------------------------------
async def start(turn: Turn) -> None:
    """Starts a registration (after the profile, which must exist first)."""
    from conversations.profile import require_profile

    if not await require_profile(turn, then="register"):
        return
    await turn.finish()
    await turn.move(FLOW, S.CATEGORY)
    await ask_category(turn)


# ---- 1. category ------------------------------------------------------------------------
async def ask_category(turn: Turn) -> None:
    """Asks which kind of product it is."""
    labels = [(turn.t(f"categories.{c.value}"), f"cat:{c.value}") for c in Category]
    turn.say("register.ask_category", markup=turn.keyboard([labels[i : i + 2] for i in range(0, len(labels), 2)], back=False))


async def on_category(turn: Turn, action: str) -> None:
    """Stores the category and asks for the serial."""
    kind, _, value = action.partition(":")
    if kind != "cat" or value not in set(Category):
        turn.notify("errors.stale_button")
        return
    await turn.move(FLOW, S.SERIAL, category=value)
    await ask_serial(turn)


# ---- 2. serial ----------------------------------------------------------------------------
async def ask_serial(turn: Turn) -> None:
    """Asks for the serial, with a picture of where to find it on this kind of product."""
    category = turn.data.get("category", Category.MONITOR.value)
    turn.say("register.ask_serial", photo=serial_asset(category), markup=turn.keyboard([]), category=turn.t(f"categories.{category}"))


async def on_serial(turn: Turn) -> None:
    """Looks the typed serial up in the catalogue and asks the customer to confirm the product."""
    await _take_serial(turn, (turn.text or "").strip())


async def on_serial_photo(turn: Turn) -> None:
    """Reads the serial from a photo of the label's barcode; the customer still confirms it."""
    serials = await received_serials(turn)
    if serials is None:
        return
    for serial in serials:
        if await catalogue.find_serial(turn.session, serial) is not None:
            turn.say("register.label_read", serial=serial)
            await _take_serial(turn, serial)
            return
    turn.say("register.label_unreadable", markup=turn.keyboard([]))


async def _take_serial(turn: Turn, raw: str) -> None:
    member = turn.member
    assert member is not None
    match = await catalogue.find_serial(turn.session, raw) if 4 <= len(raw) <= 60 else None
    if match is None:
        turn.say("register.serial_unknown", serial=raw[:60], markup=turn.keyboard([]))
        return
    owner = await registration.serial_owner(turn.session, member.id, match.serial, turn.now)
    if owner is registration.SerialOwner.YOU:
        turn.say("register.serial_yours", serial=match.serial, markup=main_menu(turn))
        await turn.finish()
        return
    if owner is registration.SerialOwner.SOMEONE_ELSE:
        turn.say("register.serial_taken", serial=match.serial, markup=turn.keyboard([]))
        return
    if match.product.category != turn.data.get("category"):
        turn.say("register.category_adjusted", category=turn.t(f"categories.{match.product.category}"))
    if match.corrections:
        fixes = ", ".join(turn.t("register.correction", original=c.original, corrected=c.corrected, position=c.position) for c in match.corrections)
        turn.say("register.serial_corrected", serial=match.serial, fixes=fixes)
    await turn.move(FLOW, S.CONFIRM_PRODUCT, serial=match.serial, product_id=match.product.id, category=match.product.category, chk_listed=match.listed)
    await ask_confirm_product(turn)


async def ask_confirm_product(turn: Turn) -> None:
    """Shows what the catalogue found (Step 5-2) and asks whether it is theirs."""
    product = await _product(turn)
    assert product is not None
    turn.say(
        "register.confirm_product",
        category=turn.t(f"categories.{product.category}"),
        name=product.name,
        model=product.model,
        serial=turn.data["serial"],
        markup=turn.keyboard([[(turn.t("register.this_is_mine"), "yes"), (turn.t("register.not_mine"), "no")]]),
    )


async def on_confirm_product(turn: Turn, action: str) -> None:
    """Goes on to the CHK, or back to the serial when the product is not theirs."""
    if action == "yes":
        await turn.move(FLOW, S.CHK)
        await ask_chk(turn)
    else:
        await turn.move(FLOW, S.SERIAL)
        turn.say("register.serial_again")
        await ask_serial(turn)


# ---- 3. CHK -------------------------------------------------------------------------------
async def ask_chk(turn: Turn) -> None:
    """Asks for the 3-digit CHK from the sticker, with an example picture."""
    turn.say("register.ask_chk", photo=asset_path("chk_example.png"), markup=turn.keyboard([]))


async def on_chk(turn: Turn) -> None:
    """Checks the CHK; five wrong tries in an hour lock the serial for this member for an hour."""
    member = turn.member
    assert member is not None
    serial = turn.data["serial"]
    until = await registration.locked_until(turn.session, member.id, serial, turn.now)
    if until is not None:
        turn.say("register.chk_locked", minutes=max(1, int((until - turn.now).total_seconds() // 60) + 1), markup=main_menu(turn))
        await turn.finish()
        return
    match = await catalogue.find_serial(turn.session, serial)
    secret = turn.services.settings.chk_secret
    ok = match is not None and await catalogue.check_chk(turn.session, match, turn.text or "", secret.get_secret_value() if secret else None)
    if not ok:
        left = await registration.record_wrong_chk(turn.session, member.id, serial, turn.now)
        if left == 0:
            turn.say("register.chk_locked", minutes=60, markup=main_menu(turn))
            await turn.finish()
        else:
            turn.say("register.chk_wrong", left=left)
        return
    await turn.move(FLOW, S.REGION)
    await ask_region(turn)


# ---- 4. region ----------------------------------------------------------------------------
async def ask_region(turn: Turn) -> None:
    """Asks where it was bought; the profile's region comes first."""
    home = turn.member.country if turn.member is not None else None
    codes = [c for c in ([home] if home else []) + list(COMMON_COUNTRIES) if c]
    unique = list(dict.fromkeys(codes))[:9]
    buttons = [(country_name(c, turn.language), f"cc:{c}") for c in unique]
    turn.say("register.ask_region", markup=turn.keyboard([buttons[i : i + 3] for i in range(0, len(buttons), 3)]))


async def on_region_text(turn: Turn) -> None:
    """Finds the typed country; one clear match is taken, several are offered as buttons."""
    matches = search_countries(turn.text or "", turn.language)
    if len(matches) == 1:
        await _set_region(turn, matches[0])
        return
    if not matches:
        turn.say("register.region_no_match", query=(turn.text or "")[:40])
        return
    buttons = [(country_name(c, turn.language), f"cc:{c}") for c in matches]
    turn.say("register.region_pick", markup=turn.keyboard([buttons[i : i + 2] for i in range(0, len(buttons), 2)]))


async def on_region_action(turn: Turn, action: str) -> None:
    kind, _, code = action.partition(":")
    if kind == "cc" and code:
        await _set_region(turn, code)
    else:
        turn.notify("errors.stale_button")


async def _set_region(turn: Turn, code: str) -> None:
    """A new region means its store list: the store is asked again."""
    await turn.forget("store")
    await _after_answer(turn, S.STORE, country=code)


# ---- 5. store -----------------------------------------------------------------------------
async def ask_store(turn: Turn) -> None:
    """Offers the region's stores; any other name can be typed."""
    stores = await catalogue.stores_for(turn.session, turn.data["country"])
    buttons = [(name, f"st:{index}") for index, name in enumerate(stores[:MAX_STORE_BUTTONS])]  # others: typed
    turn.say("register.ask_store", country=country_name(turn.data["country"], turn.language), markup=turn.keyboard([buttons[i : i + 2] for i in range(0, len(buttons), 2)]))


async def on_store_action(turn: Turn, action: str) -> None:
    stores = await catalogue.stores_for(turn.session, turn.data["country"])
    kind, _, index = action.partition(":")
    if kind != "st" or not index.isdigit() or int(index) >= len(stores):
        turn.notify("errors.stale_button")
        return
    await _after_answer(turn, S.DATE, store=stores[int(index)])


async def on_store_text(turn: Turn) -> None:
    """A store that is not in the list, typed by the customer."""
    name = " ".join((turn.text or "").split())
    if not 2 <= len(name) <= MAX_STORE_NAME:
        turn.say("register.store_invalid", limit=MAX_STORE_NAME)
        return
    await _after_answer(turn, S.DATE, store=name)


# ---- 6. purchase date ---------------------------------------------------------------------
async def ask_date(turn: Turn) -> None:
    """Today / yesterday / a calendar, or a typed date."""
    turn.say(
        "register.ask_date",
        markup=turn.keyboard([[(turn.t("register.today"), "d:0"), (turn.t("register.yesterday"), "d:1")], [(turn.t("register.pick_date"), f"cal:{turn.now:%Y-%m}")]]),
    )


def _calendar(turn: Turn, year: int, month: int) -> InlineKeyboardMarkup:
    """A month of day buttons; days after the latest possible date are left out."""
    latest = latest_calendar_date(turn.now)
    rows: list[list[tuple[str, str]]] = []
    for week in calendar.Calendar().monthdayscalendar(year, month):
        row = [(str(day), f"day:{year:04d}-{month:02d}-{day:02d}") if day and date(year, month, day) <= latest else ("·", "noop") for day in week]
        rows.append(row)
    previous = date(year, month, 1) - timedelta(days=1)
    following = date(year, month, 28) + timedelta(days=4)
    nav = [("◀", f"cal:{previous:%Y-%m}")]
    if following.replace(day=1) <= latest:
        nav.append(("▶", f"cal:{following:%Y-%m}"))
    return turn.keyboard([nav, *rows])


async def on_date_action(turn: Turn, action: str) -> None:
    kind, _, value = action.partition(":")
    if kind == "d" and value in ("0", "1"):
        await _set_date(turn, today_for(turn) - timedelta(days=int(value)))  # the customer's today, not UTC's
    elif kind == "cal":
        try:
            year, month = (int(part) for part in value.split("-"))
            date(year, month, 1)
        except ValueError:
            turn.notify("errors.stale_button")
            return
        turn.say("register.pick_day", month=format_date(date(year, month, 1), "MMMM y", locale=_babel_locale(turn.language)), markup=_calendar(turn, year, month), edit=True)
    elif kind == "day":
        try:
            await _set_date(turn, date.fromisoformat(value))
        except ValueError:
            turn.notify("errors.stale_button")
    elif kind == "noop":
        turn.notify("register.day_unavailable")
    else:
        turn.notify("errors.stale_button")


def parse_date(text: str) -> date | None:
    """Dates as people type them: 2026-03-03, 03/03/2026, 3.3.2026 (day before month)."""
    cleaned = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return None


async def on_date_text(turn: Turn) -> None:
    parsed = parse_date(turn.text or "")
    if parsed is None:
        turn.say("register.date_unreadable", example=_date(turn, today_for(turn)))
        return
    await _set_date(turn, parsed)


async def _set_date(turn: Turn, value: date) -> None:
    product = await _product(turn)
    problem = registration.purchase_date_problem(value, latest_calendar_date(turn.now), product.launch_date if product else None)
    if problem is registration.DateProblem.IN_FUTURE:
        turn.say("register.date_future", date=_date(turn, value))
        return
    if problem is registration.DateProblem.BEFORE_LAUNCH:
        assert product is not None and product.launch_date is not None
        turn.say("register.date_before_launch", date=_date(turn, value), launch=_date(turn, product.launch_date), name=product.name)
        return
    await _after_answer(turn, S.CHANNEL, purchase_date=value.isoformat())


# ---- 7. channel ---------------------------------------------------------------------------
async def ask_channel(turn: Turn) -> None:
    """Retail store, online retailer or reseller."""
    turn.say("register.ask_channel", markup=turn.keyboard([[(turn.t(f"channels.{c.value}"), f"ch:{c.value}")] for c in Channel]))


async def on_channel(turn: Turn, action: str) -> None:
    kind, _, value = action.partition(":")
    if kind != "ch" or value not in set(Channel):
        turn.notify("errors.stale_button")
        return
    await _after_answer(turn, S.INVOICE, channel=value)


# ---- 8. invoice ---------------------------------------------------------------------------
async def ask_invoice(turn: Turn) -> None:
    """Asks for the invoice photo and says what it must show."""
    turn.say("register.ask_invoice", photo=asset_path("invoice_example.png"), markup=turn.keyboard([]))


async def on_invoice(turn: Turn) -> None:
    """Stores the invoice normalized (orientation, ≤1600 px, no metadata) and shows the summary."""
    stored = await store_image(turn)
    if stored is None:
        return
    await _after_answer(turn, S.INVOICE_NUMBER if not turn.data.get("invoice_number") else S.SUMMARY, invoice_path=stored.path, invoice_sha256=stored.sha256, invoice_phash=stored.phash)


# ---- 8b. invoice number -------------------------------------------------------------------
INVOICE_NUMBER_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./_#-]{1,63}")


async def ask_invoice_number(turn: Turn) -> None:
    """The invoice number as printed: one invoice can back one claim, whoever types it."""
    turn.say("register.ask_invoice_number", markup=turn.keyboard([]))


async def on_invoice_number(turn: Turn) -> None:
    number = " ".join((turn.text or "").split())
    if not INVOICE_NUMBER_SHAPE.fullmatch(number):
        turn.say("register.invoice_number_invalid")
        return
    await _after_answer(turn, S.SUMMARY, invoice_number=number.upper())


# ---- 9. summary ---------------------------------------------------------------------------
SUMMARY_EDITS = (("store", S.REGION), ("date", S.DATE), ("channel", S.CHANNEL), ("invoice", S.INVOICE), ("invoice_number", S.INVOICE_NUMBER))


async def ask_summary(turn: Turn) -> None:
    """Every fact with the invoice thumbnail: Confirm, Edit a field, or Cancel."""
    product = await _product(turn)
    assert product is not None
    data = turn.data
    photo = thumbnail(turn.services.media.read(data["invoice_path"])) if data.get("invoice_path") else None
    edits = [(turn.t(f"register.edit_{name}"), f"edit:{name}") for name, _ in SUMMARY_EDITS]
    turn.say(
        "register.summary",
        category=turn.t(f"categories.{product.category}"),
        name=product.name,
        model=product.model,
        serial=data["serial"],
        country=country_name(data["country"], turn.language),
        store=data["store"],
        date=_date(turn, date.fromisoformat(data["purchase_date"])),
        channel=turn.t(f"channels.{data['channel']}"),
        invoice_number=data.get("invoice_number", "—"),
        photo=photo,
        markup=turn.keyboard([[(turn.t("buttons.confirm"), "confirm")], edits[:2], edits[2:4], edits[4:]], back=False),
    )


async def on_summary(turn: Turn, action: str) -> None:
    """Saves the registration, or opens one field for editing."""
    if action.startswith("edit:"):
        target = dict(SUMMARY_EDITS).get(action.removeprefix("edit:"))
        if target is None:
            turn.notify("errors.stale_button")
            return
        await turn.move(FLOW, target, editing=True)
        await STEPS[target].prompt(turn)
        return
    if action != "confirm":
        turn.notify("errors.stale_button")
        return
    member = turn.member
    assert member is not None
    data = turn.data
    draft = registration.Draft(
        catalogue_product_id=data["product_id"],
        serial=data["serial"],
        purchase_country=data["country"],
        store_name=data["store"],
        purchase_date=date.fromisoformat(data["purchase_date"]),
        channel=data["channel"],
        invoice_path=data.get("invoice_path", ""),
        invoice_sha256=data.get("invoice_sha256", ""),
        invoice_number=data.get("invoice_number"),
        invoice_phash=data.get("invoice_phash"),
    )
    try:
        saved = await registration.complete(turn.session, member.id, draft, turn.now, latest_calendar_date(turn.now))
    except registration.RegistrationError as error:
        turn.say(f"register.failed_{error.reason}", serial=draft.serial, markup=main_menu(turn))
        await turn.finish()
        return
    product = await _product(turn)
    await turn.finish()
    assert product is not None
    turn.say("register.done", name=product.name, serial=saved.serial, markup=main_menu(turn))


STEPS: dict[S, Step] = {
    S.CATEGORY: Step(ask_category, on_action=on_category),
    S.SERIAL: Step(ask_serial, on_text=on_serial, on_photo=on_serial_photo, expects="text", photo_use=PhotoUse.READ_SERIALS),
    S.CONFIRM_PRODUCT: Step(ask_confirm_product, on_action=on_confirm_product),
    S.CHK: Step(ask_chk, on_text=on_chk, expects="text"),
    S.REGION: Step(ask_region, on_text=on_region_text, on_action=on_region_action),
    S.STORE: Step(ask_store, on_text=on_store_text, on_action=on_store_action),
    S.DATE: Step(ask_date, on_text=on_date_text, on_action=on_date_action),
    S.CHANNEL: Step(ask_channel, on_action=on_channel),
    S.INVOICE: Step(ask_invoice, on_photo=on_invoice, expects="photo"),
    S.INVOICE_NUMBER: Step(ask_invoice_number, on_text=on_invoice_number, expects="text"),
    S.SUMMARY: Step(ask_summary, on_action=on_summary),
}


def setup(router: Router) -> None:
    """/register and the menu button start the journey."""
    router.add_flow(Flow(FLOW, STEPS))
    router.commands["register"] = start
