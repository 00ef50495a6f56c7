"""Lucky-draw winners claim their prize in time, or the first reserve takes it (storage/draw.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox import render_text, render_value
from emulator import Emulator
from locales.i18n import Translator, format_day
from storage import draw
from storage.db import unit_of_work
from storage.demo import DEMO_PROMOTIONS, load_demo_data
from storage.models import AuditEntry, ClaimStatus, Draw, Member, OutboxMessage
from storage.promotion_loader import PromotionFileError, load_promotions_file
from tests.conftest import ADMIN_ID, STAFF_CHAT_ID
from tests.harness import Person
from tests.staff_tools_support import claim, open_chat, promotion, start_bot

NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)  # the demo promotion's draw date
SLUG = "spring-2026"
# The demo promotion: 14 answer days, Asia/Singapore. Told on Jan 15 (17:00 there): the answer
# counts until the end of Jan 29 in Singapore, 16:00 UTC.
DEADLINE = datetime(2027, 1, 29, 16, 0, tzinfo=UTC)
BUTTON = "🎁 Claim my prize"
PROOF = "🔍 How can I check the draw?"


async def _queued(session: AsyncSession, chat_id: int) -> list[OutboxMessage]:
    return list(
        (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
            )
        ).all()
    )


async def _counts(session: AsyncSession) -> tuple[int, int]:
    outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
    audit = await session.scalar(select(func.count()).select_from(AuditEntry))
    return int(outbox or 0), int(audit or 0)


# ---------------------------------------------------------------- the rules


async def test_deadline_is_the_end_of_the_last_day_in_the_promotions_time_zone(session: AsyncSession) -> None:
    await load_demo_data(session)
    promo = await promotion(session)
    assert promo.draw_answer_days == 14 and promo.timezone == "Asia/Singapore"
    assert draw.answer_deadline(promo, NOW) == DEADLINE
    assert draw.last_answer_day(promo, DEADLINE) == date(2027, 1, 29)
    assert draw.answer_deadline(promo, datetime(2027, 1, 15, 16, 30, tzinfo=UTC)) == DEADLINE + timedelta(
        days=1
    )  # already Jan 16 in Singapore
    promo.draw_answer_days = 3
    assert draw.answer_deadline(promo, NOW) == datetime(2027, 1, 18, 16, 0, tzinfo=UTC)
    # The day is queued as a date and written in the reader's language only when sent.
    day = {"$date": "2027-01-29"}
    assert render_value(Translator(), "en", day) == "Jan 29, 2027"
    assert "2027" in str(render_value(Translator(), "zh-Hant", day)) and "29" in str(
        render_value(Translator(), "zh-Hant", day)
    )


async def test_answers_lapses_reserves_and_running_out(session: AsyncSession) -> None:
    """One winner, three reserves: the winner lapses, an ineligible reserve is skipped, the next
    is called in, lapses too, the last reserve answers; a second lapse finds no reserve left."""
    await load_demo_data(session)
    for n in range(6):
        await claim(session, 301 + n, f"e00000000{n}", language="zh-Hant" if n % 2 else "en")
    await draw.commit(session, SLUG, 2, 3, ADMIN_ID, NOW, staff_chat_id=STAFF_CHAT_ID)
    row = (await draw.draw(session, SLUG, ADMIN_ID, NOW, staff_chat_id=STAFF_CHAT_ID)).draw
    first, second = row.winners
    r1, r2, r3 = row.reserves
    assert row.answers == {
        o: {"state": "waiting", "rank": None, "since": NOW.isoformat(), "deadline": DEADLINE.isoformat()}
        for o in row.winners
    }
    assert row.answer_due_at == DEADLINE

    # The winners' messages carry the button and the deadline, in their language.
    owners = {
        c: (
            await session.scalar(
                select(Member).join(draw.Claim, draw.Claim.member_id == Member.id).where(draw.Claim.order_id == c)
            )
        )
        for c in (*row.winners, *row.reserves)
    }
    for order_id in row.winners:
        message = [
            m for m in await _queued(session, owners[order_id].chat_id) if m.payload["key"] == "staff_tools.draw.won"
        ][0]  # type: ignore[union-attr]
        assert message.payload["buttons"] == [
            [["prize.button", "prize", row.id]],
            [["draw_proof.button", "drawproof", row.id]],
        ]  # the actions and their draw
        language = owners[order_id].language  # type: ignore[union-attr]
        assert message.payload["values"]["deadline"] == {"$date": "2027-01-29"}
        text = render_text(Translator(), language, "staff_tools.draw.won", message.payload["values"])
        assert format_day(date(2027, 1, 29), language) in text and "Asia/Singapore" in text
    for order_id in row.reserves:
        for m in await _queued(session, owners[order_id].chat_id):  # type: ignore[union-attr]
            assert m.payload["buttons"] == [[["draw_proof.button", "drawproof", row.id]]]  # no prize to claim

    # Nobody to answer for: a reserve, someone who was not drawn, an unknown draw.
    assert (await draw.answer(session, row.id, owners[r1], NOW)).result == draw.Answer.NOT_WINNER  # type: ignore[arg-type]
    assert (await draw.answer(session, row.id + 99, owners[first], NOW)).result == draw.Answer.NOT_WINNER  # type: ignore[arg-type]

    # The first winner answers in time; the second does not.
    answered = await draw.answer(session, row.id, owners[first], NOW + timedelta(days=3), staff_chat_id=STAFF_CHAT_ID)  # type: ignore[arg-type]
    assert (answered.result, answered.order_ids, answered.deadline) == (draw.Answer.CLAIMED, [first], date(2027, 1, 29))
    assert (await draw.answer(session, row.id, owners[first], NOW + timedelta(days=4))).result == draw.Answer.ALREADY  # type: ignore[arg-type]
    assert (await _queued(session, STAFF_CHAT_ID))[-1].payload["key"] == "prize.staff.claimed"

    # Reserve 1 is no entry any more by the time it would be called in.
    (await session.scalar(select(draw.Claim).where(draw.Claim.order_id == r1))).status = ClaimStatus.REVIEW  # type: ignore[union-attr]
    assert await draw.replace_lapsed(session, DEADLINE - timedelta(seconds=1), staff_chat_id=STAFF_CHAT_ID) == []
    assert (await draw.answer(session, row.id, owners[second], DEADLINE)).result == draw.Answer.EXPIRED  # type: ignore[arg-type]  # before the job ran

    done = await draw.replace_lapsed(session, DEADLINE, staff_chat_id=STAFF_CHAT_ID)
    assert [(d.lapsed, d.winner, d.rank, list(d.skipped)) for d in done] == [(second, r2, 2, [r1])]
    assert done[0].skipped[r1] == ["not_approved"]
    later = draw.answer_deadline(await promotion(session), DEADLINE)
    assert row.answers[second] == {
        "state": "lapsed",
        "rank": None,
        "since": NOW.isoformat(),
        "deadline": DEADLINE.isoformat(),
        "lapsed_at": DEADLINE.isoformat(),
        "replaced_by": r2,
    }
    assert row.answers[r2] == {
        "state": "waiting",
        "rank": 2,
        "replaces": second,
        "since": DEADLINE.isoformat(),
        "deadline": later.isoformat(),
    }
    assert row.answers[r1]["state"] == "skipped" and row.answers[first]["state"] == "answered"
    assert row.answer_due_at == later and draw.verify(row)
    assert [m.payload["key"] for m in await _queued(session, owners[second].chat_id)][-1] == "prize.lapsed"  # type: ignore[union-attr]
    promoted = (await _queued(session, owners[r2].chat_id))[-1]  # type: ignore[union-attr]
    assert promoted.payload["key"] == "prize.promoted" and promoted.payload["buttons"] == [
        [["prize.button", "prize", row.id]]
    ]
    assert not [m for m in await _queued(session, owners[r1].chat_id) if m.payload["key"].startswith("prize.")]  # type: ignore[union-attr]
    staff = (await _queued(session, STAFF_CHAT_ID))[-1]
    assert (
        staff.payload["key"] == "prize.staff.replaced"
        and staff.payload["values"]["winner"] == r2
        and staff.payload["values"]["skipped"] == {"$list": [r1]}
    )

    counts = await _counts(session)  # a second run (or a second process) changes nothing
    assert await draw.replace_lapsed(session, DEADLINE + timedelta(hours=1), staff_chat_id=STAFF_CHAT_ID) == []
    assert await _counts(session) == counts

    # Reserve 2 does not answer either: reserve 3 takes it, answers, and a third lapse has nobody.
    done = await draw.replace_lapsed(session, later, staff_chat_id=STAFF_CHAT_ID)
    assert [(d.lapsed, d.winner, d.rank) for d in done] == [(r2, r3, 3)]
    assert (await draw.answer(session, row.id, owners[r3], later)).result == draw.Answer.CLAIMED  # type: ignore[arg-type]
    assert row.answer_due_at is None
    assert await draw.replace_lapsed(session, later + timedelta(days=30)) == []

    actions = [
        a.action
        for a in (
            await session.scalars(select(AuditEntry).where(AuditEntry.action.like("draw.%")).order_by(AuditEntry.id))
        ).all()
    ]
    assert actions == [
        "draw.committed",
        "draw.drawn",
        "draw.answered",
        "draw.replaced",
        "draw.replaced",
        "draw.answered",
    ]

    # A called-in reserve has won: a later draw of the promotion leaves it out, like a winner.
    await draw.commit(session, SLUG, 1, 0, ADMIN_ID, NOW)
    again = await draw.draw(session, SLUG, ADMIN_ID, later)
    assert {o for o, why in again.excluded.items() if why == ["already_won"]} == {first, second, r2, r3}


async def test_no_reserve_left_is_told_to_staff(session: AsyncSession) -> None:
    await load_demo_data(session)
    await claim(session, 401, "f000000001")
    await draw.commit(session, SLUG, 1, 0, ADMIN_ID, NOW)
    row = (await draw.draw(session, SLUG, ADMIN_ID, NOW)).draw
    done = await draw.replace_lapsed(session, DEADLINE, staff_chat_id=STAFF_CHAT_ID, staff_language="zh-Hant")
    assert [(d.lapsed, d.winner) for d in done] == [("f000000001", None)]
    assert (
        row.answers["f000000001"]["state"] == "lapsed"
        and row.answers["f000000001"]["replaced_by"] is None
        and row.answer_due_at is None
    )
    staff = (await _queued(session, STAFF_CHAT_ID))[-1]
    assert staff.payload["key"] == "prize.staff.exhausted" and staff.payload["language"] == "zh-Hant"
    assert (await _queued(session, 401))[-1].payload["key"] == "prize.lapsed"
    assert await session.scalar(select(AuditEntry).where(AuditEntry.action == "draw.reserves_exhausted")) is not None
    assert await draw.replace_lapsed(session, DEADLINE + timedelta(days=1), staff_chat_id=STAFF_CHAT_ID) == []


async def test_draws_made_before_answers_were_tracked_are_left_alone(session: AsyncSession) -> None:
    await load_demo_data(session)
    await claim(session, 451, "g000000001")
    await draw.commit(session, SLUG, 1, 0, ADMIN_ID, NOW)
    row = (await draw.draw(session, SLUG, ADMIN_ID, NOW)).draw
    row.answers, row.answer_due_at = None, None
    await session.flush()
    assert await draw.replace_lapsed(session, DEADLINE + timedelta(days=100)) == []
    owner = await session.scalar(select(Member).where(Member.telegram_user_id == 451))
    assert (await draw.answer(session, row.id, owner, NOW)).result == draw.Answer.NOT_WINNER  # type: ignore[arg-type]


async def test_answer_days_in_the_promotions_file(session: AsyncSession, tmp_path: Path) -> None:
    await load_demo_data(session)
    text = DEMO_PROMOTIONS.read_text(encoding="utf-8")
    assert "answer_days = 14" in text
    path = tmp_path / "p.toml"
    path.write_text(text.replace("answer_days = 14", "answer_days = 5"), encoding="utf-8")
    await load_promotions_file(session, path)
    assert (await promotion(session)).draw_answer_days == 5
    path.write_text(text.replace(", answer_days = 14", ""), encoding="utf-8")
    await load_promotions_file(session, path)
    assert (await promotion(session)).draw_answer_days == 14  # the default
    path.write_text(text.replace("answer_days = 14", "answer_days = 0"), encoding="utf-8")
    with pytest.raises(PromotionFileError, match="lucky_draw.answer_days: must be a positive whole number"):
        await load_promotions_file(session, path)


# ---------------------------------------------------------------- in the chat


async def test_winner_claims_in_time_and_a_silent_winner_is_replaced_by_the_first_reserve(
    emulator: Emulator, db_url: str, tmp_path: Path
) -> None:
    bot = await start_bot(emulator, db_url, tmp_path)  # no outbox loop: tick() sends, after the clock moved
    bot.clock.current = NOW
    names = {601: "Wendy", 602: "Xavier", 603: "Yara", 604: "Zack", 605: "Vera"}
    try:
        async with unit_of_work(bot.sessions) as s:
            for user_id in names:
                await claim(s, user_id, f"h{user_id:09d}")
            # A prize that is not shipped: the winner is asked nothing more (tests/test_shipping.py
            # has the shipping address a winner of a shipped prize gives after claiming).
            (await promotion(s)).draw_prize_ships = False
        for user_id, name in names.items():
            open_chat(emulator, user_id, name)
        group = Person(emulator, ADMIN_ID, "Ada", chat_id=STAFF_CHAT_ID)
        ada = Person(emulator, ADMIN_ID, "Ada")  # in a private chat the admin is answered at once
        await ada.send("/draw spring-2026 2 2")
        await ada.expect("Lucky draw committed", "Entrants right now: 5")
        await ada.send("/draw spring-2026 confirm")
        await ada.expect("Winners:")
        await bot.runtime.tick()
        await group.expect("Lucky draw committed")
        await group.expect(
            "Winners:", "end of Jan 29, 2027 (Asia/Singapore time)"
        )  # shown as is by /draw in a private chat too
        async with unit_of_work(bot.sessions) as s:
            row = await s.scalar(select(Draw))
            assert row is not None
        people = {f"h{user_id:09d}": Person(emulator, user_id, name) for user_id, name in names.items()}
        keeper, silent = (people[o] for o in row.winners)
        first, second = (people[o] for o in row.reserves)
        for winner in (keeper, silent):
            told = await winner.expect(
                "You won in the lucky draw", "by the end of Jan 29, 2027", "(Asia/Singapore time)"
            )
            assert told.buttons == [BUTTON, PROOF]
        await first.expect("you are reserve no. 1")
        await second.expect("you are reserve no. 2")

        # Three days later the first winner claims the prize; staff hear of it.
        bot.clock.current = NOW + timedelta(days=3)
        await keeper.press(BUTTON)
        await keeper.expect("Your prize is claimed", row.winners[0])
        await bot.runtime.tick()
        await group.expect("Lucky-draw prize claimed", row.winners[0])

        # The deadline passes: the silent winner's prize goes to reserve no. 1, with a new deadline.
        bot.clock.current = DEADLINE - timedelta(minutes=1)
        await bot.runtime.tick()
        async with unit_of_work(bot.sessions) as s:
            assert (await s.scalar(select(Draw))).answers[row.winners[1]]["state"] == "waiting"  # type: ignore[union-attr]
        bot.clock.current = DEADLINE + timedelta(minutes=1)
        await bot.runtime.tick()
        await silent.expect("Your lucky-draw prize went to a reserve", row.winners[1])
        # Called in at 00:01 on Jan 30 in Singapore: 14 days from then, to the end of Feb 13.
        called = await first.expect("You won in the lucky draw", "reserve no. 1", "by the end of Feb 13, 2027")
        assert called.buttons == [BUTTON]
        await group.expect("passed to a reserve", row.winners[1], row.reserves[0], "end of Feb 13, 2027")

        # Running the job again changes nothing and sends nothing.
        async with unit_of_work(bot.sessions) as s:
            before = (await _counts(s), (await s.scalar(select(Draw))).answers)  # type: ignore[union-attr]
        seen = {chat: len(emulator.messages(chat)) for chat in [STAFF_CHAT_ID, *names]}
        await bot.runtime.tick()
        async with unit_of_work(bot.sessions) as s:
            assert (await _counts(s), (await s.scalar(select(Draw))).answers) == before  # type: ignore[union-attr]
        assert {chat: len(emulator.messages(chat)) for chat in seen} == seen

        # The silent winner's button has expired; the reserve's works; the keeper's stays claimed.
        await silent.press(BUTTON)
        await silent.expect("can no longer be claimed")
        await first.press(BUTTON)
        await first.expect("Your prize is claimed", row.reserves[0])
        await keeper.press(BUTTON)
        await keeper.expect("already claimed")
        await bot.runtime.tick()
        await group.expect("Lucky-draw prize claimed", row.reserves[0])
        async with unit_of_work(bot.sessions) as s:
            final = await s.scalar(select(Draw))
            assert final is not None and draw.verify(final)  # the draw itself is unchanged
            states = {o: e["state"] for o, e in (final.answers or {}).items()}
            assert states == {row.winners[0]: "answered", row.winners[1]: "lapsed", row.reserves[0]: "answered"}
            assert final.answer_due_at is None
            replaced = await s.scalar(select(AuditEntry).where(AuditEntry.action == "draw.replaced"))
            assert (
                replaced is not None
                and replaced.details["lapsed"] == row.winners[1]
                and replaced.details["winner"] == row.reserves[0]
            )
        assert len(emulator.messages(second.chat_id)) == seen[second.chat_id]  # reserve no. 2 heard nothing more
    finally:
        await bot.runtime.stop()


async def test_the_button_speaks_the_winners_language(emulator: Emulator, db_url: str, tmp_path: Path) -> None:
    bot = await start_bot(emulator, db_url, tmp_path)
    bot.clock.current = NOW
    try:
        async with unit_of_work(bot.sessions) as s:
            await claim(s, 701, "k000000001", language="zh-Hant")
        open_chat(emulator, 701, "Xiu", "zh-TW")
        ada = Person(emulator, ADMIN_ID, "Ada")
        await ada.send("/draw spring-2026 1")
        await ada.expect("Lucky draw committed")
        await ada.send("/draw spring-2026 confirm")
        await ada.expect("Winners:")
        xiu = Person(emulator, 701, "Xiu", "zh-TW")
        await bot.runtime.tick()
        told = await xiu.expect("恭喜您", "2027年1月29日")
        assert told.buttons == ["🎁 領取我的獎品", "🔍 如何查驗這次抽獎？"]
        bot.clock.current = DEADLINE
        await xiu.press("🎁 領取我的獎品")
        await xiu.expect("此獎品已無法領取")
    finally:
        await bot.runtime.stop()
