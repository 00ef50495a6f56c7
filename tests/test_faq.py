"""FAQ: the five questions as buttons, answers edited in place, the first one from the member's data."""

from __future__ import annotations

from datetime import date

import pytest

from conversations.faq import match_question, parse_keywords
from locales import load_catalogue
from tests.conftest import BotHarness
from tests.test_products import G27C4, MP241, MP242, Owned, lines, member_with_products, picture

QUESTIONS = [
    "Why is no promotion shown for me?",
    "My claim was incomplete — what now?",
    "How long does it take? When do I get my prize?",
    "I didn't get a message after redeeming",
    "My Steam code doesn't work",
]


async def test_questions_and_answers_edit_in_place(bot: BotHarness) -> None:
    await member_with_products(bot, 2001)
    alice = bot.person(2001, "Alice")
    await alice.send("❓ FAQ")  # the menu button, same as /faq
    listing = await alice.expect("Frequent questions")
    assert listing.buttons == QUESTIONS

    await alice.press("How long does it take? When do I get my prize?")
    answer = await alice.next_reply()
    assert answer.kind == "edit" and answer.message_id == listing.message_id
    for fact in (
        "Digital code: checked within 7–14 working days",
        "Cashback: paid within 30 working days after your claim is approved",
        "Physical prize: delivered 8–12 weeks",
        "/status",
    ):
        assert fact in answer.text, fact
    assert answer.buttons == ["⬅️ Back to questions"]

    await alice.press("⬅️ Back to questions")
    back = await alice.next_reply()
    assert back.kind == "edit" and back.buttons == QUESTIONS

    await alice.press("My claim was incomplete — what now?")
    answer = await alice.next_reply()
    assert "purchase date, the store and the model name" in answer.text
    assert "on the product itself — not on the box or the package" in answer.text
    assert "Redeem again" in answer.text

    await alice.press("⬅️ Back to questions")
    await alice.next_reply()
    await alice.press("I didn't get a message after redeeming")
    answer = await alice.next_reply()
    assert "comes into this chat" in answer.text and "muted or blocked" in answer.text and "/status" in answer.text

    await alice.press("⬅️ Back to questions")
    await alice.next_reply()
    await alice.press("My Steam code doesn't work")
    answer = await alice.next_reply()
    assert (
        "without any extra spaces" in answer.text
        and "15 letters and digits" in answer.text
        and "AAAAA-BBBBB-CCCCC" in answer.text
    )


async def test_why_no_promotion_explains_each_product(bot: BotHarness) -> None:
    # Clock: 2026-03-10. Demo promotion "spring-2026": invoices 2026-02-01 – 2026-12-31,
    # models MP241/MP242/MP243X, countries SG TW US DE FR GB.
    await member_with_products(
        bot,
        2002,
        Owned(MP241, "BA9H040230046", date(2026, 1, 15), invoice=picture()),  # invoice too early
        Owned(MP242, "PA1T060A01074", date(2026, 3, 1), invoice=picture("MP242")),  # eligible
        Owned(G27C4, "BA7G360161055", date(2026, 3, 2), purchase_country="MY"),  # three reasons
    )
    bob = bot.person(2002, "Bob")
    await bob.send("/faq")
    await bob.next_reply()
    await bob.press("Why is no promotion shown for me?")
    answer = await bob.next_reply()
    shown = lines(answer.text)
    assert "What I see for you" in shown
    assert "Productivity From Spring!" in shown
    assert (
        "❌ PRO MP241 (BA9H040230046): the invoice date (Jan 15, 2026) is outside Feb 1, 2026 – Dec 31, 2026" in shown
    )
    assert "✅ PRO MP242 (PA1T060A01074): eligible" in shown
    assert (
        "❌ Optix G27C4 (BA7G360161055): its model (9S6-3CA91T-003) is not part of the promotion; "
        "the promotion is only for Singapore, Taiwan, United States, Germany, France, United Kingdom (you live in Singapore, bought in Malaysia); "
        "no invoice photo yet — upload it under /products"
    ) in shown
    assert "👉 Your eligible products can be redeemed for Productivity From Spring! — use /redeem." in shown
    assert answer.buttons == ["⬅️ Back to questions"]


async def test_why_no_promotion_without_products(bot: BotHarness) -> None:
    await member_with_products(bot, 2003)
    carol = bot.person(2003, "Carol")
    await carol.send("/faq")
    await carol.next_reply()
    await carol.press("Why is no promotion shown for me?")
    answer = await carol.next_reply()
    assert "1. the product is one of the promotion's eligible models" in answer.text
    assert "You have no registered products yet" in answer.text and "/register" in answer.text


async def test_free_text_question_gets_its_answer(bot: BotHarness) -> None:
    await member_with_products(bot, 2004, Owned(MP242, "PA1T060A01074", date(2026, 3, 1), invoice=picture()))
    dave = bot.person(2004, "Dave")
    await dave.send("why is there no promotion for me")
    answer = await dave.next_reply()
    assert answer.kind == "message"
    assert (
        "Why is no promotion shown for me?" in answer.text and "✅ PRO MP242 (PA1T060A01074): eligible" in answer.text
    )
    await dave.send("my steam code is not working!")
    await dave.expect("AAAAA-BBBBB-CCCCC")
    await dave.send("hello there")
    await dave.expect("I'm not sure what you mean")


async def test_traditional_chinese(bot: BotHarness) -> None:
    await member_with_products(
        bot, 2005, Owned(MP241, "BA9H040230046", date(2026, 1, 15), invoice=picture()), language="zh-Hant"
    )
    erin = bot.person(2005, "Erin", language_code="zh-TW")
    await erin.send("/faq")
    listing = await erin.expect("常見問題")
    assert listing.buttons[2] == "處理需要多久？什麼時候會收到獎品？"
    await erin.press("處理需要多久？什麼時候會收到獎品？")
    answer = await erin.next_reply()
    assert "7–14 個工作天" in answer.text and answer.buttons == ["⬅️ 回到問題列表"]
    await erin.send("為什麼我看不到活動？")
    answer = await erin.next_reply()
    assert "春季生產力大放送！" in lines(answer.text)
    assert "❌ PRO MP241（BA9H040230046）：發票日期（2026年1月15日）不在 2026年2月1日 – 2026年12月31日 之間" in lines(
        answer.text
    )


# ---------------------------------------------------------------- keyword matching


@pytest.fixture(scope="module")
def keywords() -> dict[int, list[str]]:
    table: dict[int, list[str]] = {}
    for language in ("en", "zh-Hant"):
        for number in range(1, 6):
            table.setdefault(number, []).extend(parse_keywords(load_catalogue(language)[f"faq.keywords.q{number}"]))
    return table


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("why is there no promotion for me", 1),
        ("I can't see any promotions", 1),
        ("my claim was incomplete", 2),
        ("they asked me to re-upload the invoice", 2),
        ("How long until I get my cashback?", 3),
        ("I didn’t receive any email", 4),  # typographic apostrophe
        ("STEAM KEY", 5),
        ("the activation code does not work", 5),
        ("為什麼沒有活動", 1),
        ("獎品什麼時候寄送", 3),
        ("沒收到通知", 4),
        ("hello", None),
        ("my barcode", None),  # "code" must start a word
    ],
)
def test_match_question(keywords: dict[int, list[str]], text: str, question: int | None) -> None:
    assert match_question(text, keywords) == question
