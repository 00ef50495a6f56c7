"""FAQ: the guide's five questions, answered in the chat; the first one from the member's own data.

`/faq` (or the menu button) lists the questions as global buttons "g:faq:1".."g:faq:5"; an answer
replaces the list in place and has a "Back to questions" button ("g:faq:list"). Text typed outside
any journey that looks like one of the questions (keywords from `faq.keywords.qN` of every
language) gets that answer; anything else falls back to `common.not_understood`.

`explain_reason()` renders a reason (storage.eligibility or storage.redeem_options) in the user's language;
/redeem's "Why not the others?" uses it too.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from telegram import InlineKeyboardMarkup

from conversations import common
from conversations.journey import Action, StaleButton
from conversations.products import format_day, product_label
from conversations.router import Router
from conversations.turn import Turn
from locales.countries import country_name
from locales.i18n import Raw
from storage import eligibility, redeem_options, texts
from storage.eligibility import Reason
from storage.models import Promotion, RegisteredProduct

QUESTIONS = (1, 2, 3, 4, 5)
PERSONAL = 1  # the question answered from the member's own products
MESSAGE_BUDGET = 3800  # below Telegram's 4096, leaving room for the "…and N more" line


# ---- rendering eligibility ------------------------------------------------------------------
def promotion_name(turn: Turn, promotion: Promotion) -> str:
    return texts.promotion_name(promotion, turn.language)


def _country(turn: Turn, code: str | None) -> str:
    return country_name(code, turn.language) if code else turn.t("eligibility.unknown_country")


def explain_reason(
    turn: Turn, reason: str, product: RegisteredProduct, promotion: Promotion, member_country: str | None
) -> str:
    """One reason (an eligibility.Reason or a redeem_options.ClaimReason) as a phrase, with the facts
    that make it true (dates, countries, the limit)."""
    reason = Reason(reason) if reason in set(Reason) else reason
    if reason is Reason.NOT_RUNNING:
        return turn.t(
            "eligibility.not_running",
            start=format_day(turn, promotion.starts_on),
            end=format_day(turn, eligibility.last_redeem_day(promotion)),
        )
    if reason is Reason.PAUSED:
        if promotion.paused_until is None:
            return turn.t("eligibility.paused")
        return turn.t("eligibility.paused_until", date=format_day(turn, promotion.paused_until))
    if reason is Reason.DEADLINE_PASSED:
        return turn.t("eligibility.deadline_passed", deadline=format_day(turn, eligibility.last_redeem_day(promotion)))
    if reason is Reason.COOLING_OFF:
        return turn.t(
            "eligibility.cooling_off",
            count=promotion.cooling_off_days or 0,
            date=format_day(turn, eligibility.redeemable_from(product, promotion)),
        )
    if reason is Reason.NOT_COUNTRY_OF_RESIDENCE:
        return turn.t(
            "eligibility.not_country_of_residence",
            residence=_country(turn, member_country),
            purchase=_country(turn, product.purchase_country),
        )
    if reason is Reason.MODEL_NOT_ELIGIBLE:
        return turn.t("eligibility.model_not_eligible", model=product.catalogue_product.model)
    if reason is Reason.INVOICE_DATE_OUTSIDE:
        return turn.t(
            "eligibility.invoice_date_outside",
            date=format_day(turn, product.purchase_date),
            start=format_day(turn, promotion.invoice_from),
            end=format_day(turn, promotion.invoice_to),
        )
    if reason is Reason.COUNTRY_NOT_ELIGIBLE:
        separator = turn.t("eligibility.list_separator")
        return turn.t(
            "eligibility.country_not_eligible",
            countries=separator.join(_country(turn, code) for code in promotion.eligible_countries or []),
            residence=_country(turn, member_country),
            purchase=_country(turn, product.purchase_country),
        )
    return turn.t(f"eligibility.{reason}", limit=promotion.redeem_limit_per_email)


async def _personal_lines(turn: Turn) -> list[str]:
    """Q1 from the member's data: per running promotion, each product redeemable or why not.

    Uses redeem_options.redeem_options, the same decision /redeem shows, limits included."""
    member = turn.member
    if member is None:
        return [turn.t("faq.q1.no_products")]
    options = await redeem_options.redeem_options(turn.session, member, turn.now)
    if not options:
        return [turn.t("faq.q1.no_promotions")]
    if not any(option.eligible or option.others for option in options):
        return [turn.t("faq.q1.no_products")]
    lines: list[str] = []
    separator = turn.t("eligibility.reason_separator")
    for option in options:
        name = promotion_name(turn, option.promotion)
        lines.append(turn.t("faq.q1.promotion", promotion=name))
        lines += [turn.t("faq.q1.eligible", product=Raw(product_label(turn, product))) for product in option.eligible]
        for product, reasons in option.others:
            text = separator.join(
                explain_reason(turn, reason, product, option.promotion, member.country) for reason in reasons
            )
            lines.append(turn.t("faq.q1.not_eligible", product=Raw(product_label(turn, product)), reasons=Raw(text)))
        if option.eligible:
            lines.append(turn.t("faq.q1.use_redeem", promotion=name))
    return lines


def _fit(turn: Turn, head: str, lines: list[str]) -> str:
    """Head and as many lines as fit one message; the rest is counted, not cut mid-line."""
    text = head
    for shown, line in enumerate(lines):
        left_after = len(lines) - shown - 1
        reserve = 1 + len(turn.t("faq.q1.more", count=left_after)) if left_after else 0
        if len(text) + 1 + len(line) + reserve > MESSAGE_BUDGET:
            return f"{text}\n{turn.t('faq.q1.more', count=len(lines) - shown)}"
        text = f"{text}\n{line}"
    return text


# ---- the questions --------------------------------------------------------------------------
def _back(turn: Turn) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[turn.global_button(turn.t("faq.back"), "faq:list")]])


async def show_list(turn: Turn) -> None:
    buttons = [[turn.global_button(turn.t(f"faq.q{n}.question"), f"faq:{n}")] for n in QUESTIONS]
    turn.say("faq.title", markup=InlineKeyboardMarkup(buttons), edit=True)


async def show_answer(turn: Turn, number: int) -> None:
    """The answer to question `number`, replacing the message whose button was pressed."""
    if number == PERSONAL:
        head = turn.t("faq.q1.answer")
        text = _fit(turn, f"{head}\n\n{turn.t('faq.q1.for_you')}", await _personal_lines(turn))
        turn.say_text(text, markup=_back(turn), edit=True)
        return
    turn.say(f"faq.q{number}.answer", markup=_back(turn), edit=True)


async def faq_command(turn: Turn) -> None:
    """/faq: the questions as buttons."""
    await show_list(turn)


async def on_button(turn: Turn, action: Action) -> None:
    """g:faq:list, g:faq:1 … g:faq:5."""
    if action.argument in ("", "list"):
        await show_list(turn)
    elif action.number in QUESTIONS:
        await show_answer(turn, action.number)
    else:
        raise StaleButton()


# ---- free text ------------------------------------------------------------------------------
_SPLIT = re.compile(r"[,，、;\n]+")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Case-folded, full-width folded (NFKC), typographic apostrophes made plain, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'").replace("\u2018", "'")
    return _SPACES.sub(" ", text).strip()


def parse_keywords(raw: str) -> list[str]:
    return [word for word in (normalize(part) for part in _SPLIT.split(raw)) if word]


def _pattern(keyword: str) -> re.Pattern[str]:
    """Latin keywords must start a word ("code" is not found in "barcode", "promotion" is in
    "promotions"); other scripts have no spaces between words, so they match anywhere."""
    prefix = r"(?<![a-z0-9])" if keyword[0].isascii() and keyword[0].isalnum() else ""
    return re.compile(prefix + re.escape(keyword))


def match_question(text: str, keywords: dict[int, list[str]]) -> int | None:
    """The question whose keywords best cover `text` (longest total match), or None."""
    normalized = normalize(text)
    if not normalized:
        return None
    best, best_score = None, 0
    for number in sorted(keywords):
        score = sum(len(word) for word in keywords[number] if _pattern(word).search(normalized))
        if score > best_score:
            best, best_score = number, score
    return best


@cache
def _keywords_of(raws: tuple[tuple[int, str], ...]) -> dict[int, list[str]]:
    table: dict[int, list[str]] = {}
    for number, raw in raws:
        table.setdefault(number, [])
        table[number] += [word for word in parse_keywords(raw) if word not in table[number]]
    return table


def keywords(turn: Turn) -> dict[int, list[str]]:
    """Every language's keywords per question: someone may type in a language they did not choose."""
    translator = turn.services.translator
    return _keywords_of(tuple((n, raw) for n in QUESTIONS for raw in translator.every(f"faq.keywords.q{n}").values()))


async def answer_or_not_understood(turn: Turn) -> None:
    """The router's fallback: text outside any journey that looks like a question gets its answer."""
    text = turn.text
    number = match_question(text, keywords(turn)) if text else None
    if number is None:
        await common.not_understood(turn)
        return
    await show_answer(turn, number)


def setup(router: Router) -> None:
    """/faq and the menu button, the question buttons, and free-text matching as the fallback."""
    router.commands["faq"] = faq_command
    router.actions["faq"] = on_button
    router.fallback = answer_or_not_understood
