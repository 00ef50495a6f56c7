"""The lucky draw: reproducible from its seed, uniform, committed before and revealed after."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from emulator import Emulator
from locales.i18n import Translator
from storage import draw
from storage.db import unit_of_work
from storage.demo import load_demo_data
from storage.models import AuditEntry, ClaimStatus, Draw, Member, OutboxMessage
from tests.conftest import ADMIN_ID, STAFF_CHAT_ID, STAFF_ID
from tests.harness import Person
from tests.staff_tools_support import G27C4, claim, open_chat, promotion, start_bot

NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)  # the demo promotion's draw date, after its period
SLUG = "spring-2026"


def spec_replay(seed_hex: str, entrants: list[str], winners: int, reserves: int) -> tuple[list[str], list[str]]:
    """The algorithm as storage/draw.py's docstring publishes it, written again independently."""
    seed = bytes.fromhex(seed_hex)
    stream = b"".join(hashlib.sha256(seed + b"draw" + n.to_bytes(8, "big")).digest() for n in range(64))
    numbers = [int.from_bytes(stream[i : i + 8], "big") for i in range(0, len(stream), 8)]
    pool = sorted(set(entrants))
    k = min(winners + reserves, len(pool))
    for i in range(k):
        m = len(pool) - i
        while True:
            x = numbers.pop(0)
            if x < 2**64 - (2**64 % m):
                break
        j = i + x % m
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k][:winners], pool[:k][winners:]


# ---------------------------------------------------------------- the pure draw


def test_same_seed_same_result_whatever_the_input_order() -> None:
    entrants = [f"order{i:03d}" for i in range(40)]
    seed = draw.new_seed().hex()
    first = draw.replay(seed, entrants, 3, 2)
    again = draw.replay(seed, list(reversed(entrants)) + entrants[:5], 3, 2)  # shuffled, with repeats
    assert first == again
    assert len(set(first.winners + first.reserves)) == 5
    assert set(first.winners + first.reserves) <= set(entrants)
    assert (
        draw.replay(draw.new_seed().hex(), entrants, 3, 2) != first
    )  # another seed: another draw (1 in ~78 million alike)


def test_the_published_algorithm_is_the_one_used() -> None:
    entrants = [f"o{i:02d}" for i in range(10)]
    result = draw.replay("00" * 32, entrants, 3, 2)
    assert (result.winners, result.reserves) == (["o04", "o02", "o05"], ["o00", "o06"])  # a fixed vector: never changes
    for n in range(20):
        seed = hashlib.sha256(f"seed {n}".encode()).hexdigest()
        result = draw.replay(seed, entrants[: n % 10 + 1], 2, 3)
        assert (result.winners, result.reserves) == spec_replay(seed, entrants[: n % 10 + 1], 2, 3)


def test_fewer_entrants_than_prizes() -> None:
    result = draw.replay("11" * 32, ["b", "a"], 3, 2)
    assert sorted(result.winners) == ["a", "b"] and result.reserves == []
    result = draw.replay("11" * 32, ["b", "a", "c"], 2, 5)
    assert len(result.winners) == 2 and len(result.reserves) == 1
    assert draw.replay("11" * 32, [], 1, 1).winners == []
    with pytest.raises(ValueError):
        draw.replay("11" * 32, ["a"], -1)


def test_every_entrant_is_equally_likely() -> None:
    """Chi-square over 6000 fixed seeds (deterministic, so never flaky): first and second pick."""
    entrants = ["a", "b", "c", "d", "e"]
    first: Counter[str] = Counter()
    second: Counter[str] = Counter()
    for n in range(6000):
        result = draw.replay(hashlib.sha256(n.to_bytes(4, "big")).hexdigest(), entrants, 2)
        first[result.winners[0]] += 1
        second[result.winners[1]] += 1
    for counts in (first, second):
        expected = 6000 / len(entrants)
        chi_square = sum((counts[e] - expected) ** 2 / expected for e in entrants)
        assert chi_square < 18.47  # 4 degrees of freedom, p = 0.001


def test_seed_hash_is_sha256_of_the_raw_seed() -> None:
    seed = bytes(range(32))
    assert draw.seed_hash(seed) == hashlib.sha256(seed).hexdigest()
    assert len(draw.new_seed()) == 32 and draw.new_seed() != draw.new_seed()


def test_every_refusal_has_a_message() -> None:
    translator = Translator()
    for error in draw.DrawError:
        text = translator.t(
            "zh-Hant",
            f"staff_tools.draw.{error.value}",
            slug="x",
            max_winners=100,
            max_reserves=100,
            winners=1,
            reserves=0,
            seed_sha256="ab",
        )
        assert "x" in text


# ---------------------------------------------------------------- commit, draw, cancel


async def _entrants_world(session: AsyncSession) -> None:
    """Four entries of three members, and four opted-in or approved claims that are not entries."""
    await load_demo_data(session)
    await claim(session, 101, "a000000001")
    await claim(session, 102, "a000000002", language="zh-Hant")
    await claim(session, 103, "a000000003")
    await claim(session, 103, "a000000004")  # a second redemption: a second entry
    await claim(session, 104, "b000000001", lucky=False)  # said no to the draw
    await claim(session, 105, "b000000002", status=ClaimStatus.REVIEW)  # not approved (yet)
    await claim(session, 106, "b000000003", model=G27C4)  # fails the promotion's rules now
    gone = await claim(session, 107, "b000000004")
    (await session.get(Member, gone.member_id)).deleted_at = NOW  # type: ignore[union-attr]


async def test_commit_then_draw_reveals_a_seed_that_reproduces_the_result(session: AsyncSession) -> None:
    await _entrants_world(session)
    committed = await draw.commit(session, SLUG, 2, 1, ADMIN_ID, NOW, staff_chat_id=STAFF_CHAT_ID)
    row = committed.draw
    assert committed.entrants == 4 and row.drawn_at is None and row.winners == []
    assert committed.excluded == {"b000000003": ["model_not_eligible"], "b000000004": ["member_deleted"]}
    assert row.seed is not None and row.seed_sha256 == hashlib.sha256(bytes.fromhex(row.seed)).hexdigest()
    key, values = committed.announcement
    assert key == "staff_tools.draw.committed" and values["entrants"] == 4 and values["seed_sha256"] == row.seed_sha256
    assert row.seed not in str(values)  # the seed stays secret until the draw

    drawn = await draw.draw(session, SLUG, ADMIN_ID, NOW, staff_chat_id=STAFF_CHAT_ID)
    row = drawn.draw
    entrants = ["a000000001", "a000000002", "a000000003", "a000000004"]
    expected = draw.replay(row.seed or "", entrants, 2, 1)
    assert (row.entrants, row.winners, row.reserves) == (entrants, expected.winners, expected.reserves)
    assert row.drawn_by == ADMIN_ID and row.drawn_at == NOW and draw.verify(row)
    key, values = drawn.announcement
    assert (
        key == "staff_tools.draw.drawn"
        and values["seed"] == row.seed
        and values["winners"] == {"$list": expected.winners}
    )

    audit = (
        await session.scalars(select(AuditEntry).where(AuditEntry.action.like("draw.%")).order_by(AuditEntry.id))
    ).all()
    assert [a.action for a in audit] == ["draw.committed", "draw.drawn"]
    assert (
        audit[1].details["seed"] == row.seed
        and audit[1].details["winners"] == expected.winners
        and audit[1].details["entrants"] == entrants
    )

    queued = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    staff = [m for m in queued if m.chat_id == STAFF_CHAT_ID]
    assert [m.payload["key"] for m in staff] == ["staff_tools.draw.committed", "staff_tools.draw.drawn"]
    orders = {101: ["a000000001"], 102: ["a000000002"], 103: ["a000000003", "a000000004"]}
    for user_id, mine in orders.items():
        got = sorted(m.payload["key"].rsplit(".", 1)[1] for m in queued if m.chat_id == user_id)
        wanted = sorted(
            "won" if o in expected.winners else "reserve" for o in mine if o in expected.winners + expected.reserves
        ) or ["not_won"]
        assert got == wanted, user_id
    assert {m.payload["language"] for m in queued if m.chat_id == 102} == {"zh-Hant"}
    assert not [m for m in queued if m.chat_id in (104, 105, 106, 107)]


async def test_refusals_cancel_and_a_second_draw(session: AsyncSession) -> None:
    await load_demo_data(session)
    for slug, winners, reserves, error in (
        ("nope", 1, 0, draw.DrawError.UNKNOWN_PROMOTION),
        (SLUG, 0, 0, draw.DrawError.BAD_COUNT),
        (SLUG, 101, 0, draw.DrawError.BAD_COUNT),
    ):
        with pytest.raises(draw.DrawRefused) as refused:
            await draw.commit(session, slug, winners, reserves, ADMIN_ID, NOW)
        assert refused.value.error == error
    with pytest.raises(draw.DrawRefused) as refused:
        await draw.draw(session, SLUG, ADMIN_ID, NOW)
    assert refused.value.error == draw.DrawError.NOTHING_COMMITTED
    (await promotion(session)).lucky_draw = False
    with pytest.raises(draw.DrawRefused) as refused:
        await draw.commit(session, SLUG, 1, 0, ADMIN_ID, NOW)
    assert refused.value.error == draw.DrawError.NO_LUCKY_DRAW
    (await promotion(session)).lucky_draw = True

    first = await draw.commit(session, SLUG, 1, 0, ADMIN_ID, NOW)  # nobody entered yet: committing is fine
    with pytest.raises(draw.DrawRefused) as refused:
        await draw.commit(session, SLUG, 2, 0, ADMIN_ID, NOW)
    assert refused.value.error == draw.DrawError.ALREADY_COMMITTED and refused.value.draw is first.draw
    with pytest.raises(draw.DrawRefused) as refused:
        await draw.draw(session, SLUG, ADMIN_ID, NOW)
    assert refused.value.error == draw.DrawError.NO_ENTRANTS
    cancelled = await draw.cancel(session, SLUG, ADMIN_ID, NOW)
    assert cancelled.announcement[1]["seed"] == first.draw.seed
    assert (await session.scalars(select(Draw))).all() == []
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "draw.cancelled"))
    assert entry is not None and entry.details["seed"] == first.draw.seed

    for n in range(3):
        await claim(session, 201 + n, f"d00000000{n}")
    await draw.commit(session, SLUG, 1, 0, ADMIN_ID, NOW)
    winner = (await draw.draw(session, SLUG, ADMIN_ID, NOW)).draw.winners[0]
    await draw.commit(session, SLUG, 1, 0, ADMIN_ID, NOW)
    second = await draw.draw(session, SLUG, ADMIN_ID, NOW)
    assert winner not in second.draw.entrants and second.excluded == {winner: ["already_won"]}
    assert second.draw.winners[0] != winner and second.entrants == 2


# ---------------------------------------------------------------- in the chat


async def test_draw_in_the_chat_reaches_staff_and_every_entrant(
    emulator: Emulator, db_url: str, tmp_path: Path
) -> None:
    bot = await start_bot(
        emulator, db_url, tmp_path, outbox_interval=0.05
    )  # the outbox drains by itself, as in production
    try:
        async with unit_of_work(bot.sessions) as s:
            await claim(s, 501, "c000000001")
            await claim(s, 502, "c000000002", language="zh-Hant")
        open_chat(emulator, 501, "Wendy")
        open_chat(emulator, 502, "Xiu", "zh-TW")
        group = Person(emulator, ADMIN_ID, "Ada", chat_id=STAFF_CHAT_ID)
        await emulator.user_sends_text(STAFF_ID, "/draw spring-2026 1", chat_id=STAFF_CHAT_ID)
        await group.expect("staff only")  # Sam is staff, not an admin
        await group.send("/draw autumn 1")
        await group.expect("There is no promotion autumn")
        await group.send("/draw spring-2026 confirm")
        await group.expect("No draw of spring-2026 is committed")

        await group.send("/draw spring-2026 1")
        committed = await group.expect("Lucky draw committed", "Entrants right now: 2")
        async with unit_of_work(bot.sessions) as s:
            row = await s.scalar(select(Draw))
            assert row is not None and row.seed is not None
        assert row.seed_sha256 in committed.text and row.seed not in committed.text

        private = Person(emulator, ADMIN_ID, "Ada")  # an admin may draw from a private chat too
        await private.send("/draw spring-2026 confirm")
        answer = await private.expect("Winners:", row.seed)
        announced = await group.expect("Seed, revealed now", row.seed)
        assert answer.text == announced.text
        async with unit_of_work(bot.sessions) as s:
            row = await s.scalar(select(Draw))
            assert row is not None and row.winners
        wendy, xiu = Person(emulator, 501, "Wendy"), Person(emulator, 502, "Xiu", "zh-TW")
        won, lost = (wendy, xiu) if row.winners == ["c000000001"] else (xiu, wendy)
        await (
            won.expect("You won", "electric height-adjustable desk")
            if won is wendy
            else won.expect("恭喜您", "電動升降桌")
        )
        result = await (lost.expect("was not drawn") if lost is wendy else lost.expect("未被抽中"))
        assert row.seed not in result.text and row.seed_sha256 not in result.text  # no hex for the customer
        await lost.press("🔍 How can I check the draw?" if lost is wendy else "🔍 如何查驗這次抽獎？", on=result)
        proof = await lost.expect(row.seed, row.seed_sha256)
        assert ("2 entries" in proof.text) if lost is wendy else ("2 筆參加資格" in proof.text)
    finally:
        await bot.runtime.stop()
