"""Registering a product, where and when it was bought: region → store → purchase date → channel.

The date rules (not in the future anywhere on Earth, not before the product's launch) are
storage.registration's `purchase_date_bounds`; this module offers the buttons and renders them.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from babel.dates import format_date
from telegram import InlineKeyboardMarkup

from conversations.journey import Action, StaleButton
from conversations.products import today_for
from conversations.register_state import S, answers, babel_locale, day, product
from conversations.turn import Turn
from locales import calendars
from locales.countries import COMMON_COUNTRIES, country_name, search_countries
from storage import catalogue, registration
from storage.models import Channel

MAX_STORE_NAME = 120
MAX_STORE_BUTTONS = 30  # Telegram allows 100 buttons; a longer list is unusable anyway

Rows = list[list[tuple[str, Action | str]]]


def _rows(buttons: list[tuple[str, Action | str]], per_row: int) -> Rows:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


# ---- 4. region ----------------------------------------------------------------------------
async def ask_region(turn: Turn) -> None:
    """Asks where it was bought; the profile's region comes first."""
    home = turn.member.country if turn.member is not None else None
    codes = [c for c in ([home] if home else []) + list(COMMON_COUNTRIES) if c]
    unique = list(dict.fromkeys(codes))[:9]
    buttons: list[tuple[str, Action | str]] = [(country_name(c, turn.language), Action("cc", c)) for c in unique]
    turn.say("register.ask_region", markup=turn.keyboard(_rows(buttons, 3)))


async def on_region_text(turn: Turn) -> None:
    """Finds the typed country; one clear match is taken, several are offered as buttons."""
    matches = search_countries(turn.text or "", turn.language)
    if len(matches) == 1:
        await _set_region(turn, matches[0])
        return
    if not matches:
        turn.say("register.region_no_match", query=(turn.text or "")[:40])
        return
    buttons: list[tuple[str, Action | str]] = [(country_name(c, turn.language), Action("cc", c)) for c in matches]
    turn.say("register.region_pick", markup=turn.keyboard(_rows(buttons, 2)))


async def on_region_action(turn: Turn, action: Action) -> None:
    if action.name != "cc" or not action.argument:
        raise StaleButton()
    await _set_region(turn, action.argument)


async def _set_region(turn: Turn, code: str) -> None:
    """A new region means its store list: the store is asked again."""
    await turn.go(answers(turn).after(S.STORE), country=code, store=None)


# ---- 5. store -----------------------------------------------------------------------------
async def _stores(turn: Turn) -> list[str]:
    country = answers(turn).country
    return await catalogue.stores_for(turn.session, country) if country else []


async def ask_store(turn: Turn) -> None:
    """Offers the region's stores; any other name can be typed."""
    stores = await _stores(turn)
    buttons: list[tuple[str, Action | str]] = [
        (name, Action("st", str(index))) for index, name in enumerate(stores[:MAX_STORE_BUTTONS])
    ]
    turn.say(
        "register.ask_store",
        country=country_name(answers(turn).country or "", turn.language),
        markup=turn.keyboard(_rows(buttons, 2)),
    )


async def on_store_action(turn: Turn, action: Action) -> None:
    stores = await _stores(turn)
    if action.name != "st" or action.number >= len(stores):
        raise StaleButton()
    await turn.go(answers(turn).after(S.DATE), store=stores[action.number])


async def on_store_text(turn: Turn) -> None:
    """A store that is not in the list, typed by the customer."""
    name = " ".join((turn.text or "").split())
    if not 2 <= len(name) <= MAX_STORE_NAME:
        turn.say("register.store_invalid", limit=MAX_STORE_NAME)
        return
    await turn.go(answers(turn).after(S.DATE), store=name)


# ---- 6. purchase date ---------------------------------------------------------------------
def _country(turn: Turn) -> str | None:
    """Whose way of writing dates to read: the country the customer lives in."""
    return turn.member.country if turn.member is not None else None


async def ask_date(turn: Turn) -> None:
    """Today / yesterday / a calendar, or a typed date (examples in the customer's own order)."""
    turn.say(
        "register.ask_date",
        examples=calendars.examples(today_for(turn), turn.language, _country(turn)),
        markup=turn.keyboard(
            [
                [(turn.t("register.today"), Action("d", "0")), (turn.t("register.yesterday"), Action("d", "1"))],
                [(turn.t("register.pick_date"), Action("cal", f"{turn.now:%Y-%m}"))],
            ]
        ),
    )


def _calendar(turn: Turn, year: int, month: int, latest: date) -> InlineKeyboardMarkup:
    """A month of day buttons under a weekday header, the week starting as it does in the customer's
    country; days after `latest` (a day that has not begun for the customer) are left out."""
    first = calendars.first_weekday(_country(turn))
    header: list[tuple[str, Action | str]] = [(name, "wk") for name in calendars.weekday_names(turn.language, first)]
    rows: Rows = [header]
    for week in calendar.Calendar(first).monthdayscalendar(year, month):
        rows.append(
            [
                (str(d), Action("day", f"{year:04d}-{month:02d}-{d:02d}"))
                if d and date(year, month, d) <= latest
                else ("·", "noop")
                for d in week
            ]
        )
    previous = date(year, month, 1) - timedelta(days=1)
    following = date(year, month, 28) + timedelta(days=4)
    nav: list[tuple[str, Action | str]] = [("◀", Action("cal", f"{previous:%Y-%m}"))]
    if following.replace(day=1) <= latest:
        nav.append(("▶", Action("cal", f"{following:%Y-%m}")))
    return turn.keyboard([nav, *rows])


async def on_date_action(turn: Turn, action: Action) -> None:
    if action.name == "d" and action.argument in ("0", "1"):
        await _set_date(turn, today_for(turn) - timedelta(days=action.number))  # the customer's today, not UTC's
    elif action.name == "cal":
        try:
            year, month = (int(part) for part in action.argument.split("-"))
            first = date(year, month, 1)
        except ValueError:
            raise StaleButton() from None
        latest = min(registration.latest_purchase_date(turn.now), today_for(turn))
        month_name = format_date(first, "MMMM y", locale=babel_locale(turn.language))
        turn.say("register.pick_day", month=month_name, markup=_calendar(turn, year, month, latest), edit=True)
    elif action.name == "day":
        try:
            picked = date.fromisoformat(action.argument)
        except ValueError:
            raise StaleButton() from None
        await _set_date(turn, picked)
    elif action.name == "noop":
        turn.notify("register.day_unavailable")
    elif action.name == "wk":
        turn.notify("calendar.pick_a_day")
    else:
        raise StaleButton()


async def on_date_text(turn: Turn) -> None:
    """A typed date, read in the customer's country's order (locales/calendars.py)."""
    typed = (turn.text or "").strip()
    parsed = calendars.read_date(typed, turn.language, _country(turn))
    if parsed is calendars.DateError.NO_SUCH_DAY:
        turn.say("calendar.no_such_day", typed=typed[:40])
        return
    if not isinstance(parsed, date):
        turn.say("register.date_unreadable", example=day(turn, today_for(turn)))
        return
    await _set_date(turn, parsed)


async def _set_date(turn: Turn, value: date) -> None:
    """Renders storage's verdict on the date; a possible one is taken."""
    bounds = await registration.purchase_date_bounds(turn.session, answers(turn).product_id, turn.now)
    problem = bounds.problem(value)
    if problem is registration.DateProblem.IN_FUTURE:
        turn.say("register.date_future", date=day(turn, value))
        return
    if problem is registration.DateProblem.BEFORE_LAUNCH:
        found = await product(turn)
        assert bounds.earliest is not None
        turn.say(
            "register.date_before_launch",
            date=day(turn, value),
            launch=day(turn, bounds.earliest),
            name=found.name if found else "",
        )
        return
    await turn.go(answers(turn).after(S.CHANNEL), purchase_date=value)


# ---- 7. channel ---------------------------------------------------------------------------
async def ask_channel(turn: Turn) -> None:
    """Retail store, online retailer or reseller."""
    turn.say(
        "register.ask_channel",
        markup=turn.keyboard([[(turn.t(f"channels.{c.value}"), Action("ch", c.value))] for c in Channel]),
    )


async def on_channel(turn: Turn, action: Action) -> None:
    if action.name != "ch":
        raise StaleButton()
    await turn.go(answers(turn).after(S.INVOICE), channel=action.choice(Channel))
