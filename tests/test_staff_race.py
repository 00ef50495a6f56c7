"""Two staff deciding one claim at once: one decision wins, the other is told who decided and
how, the card is edited once (no edit Telegram refuses as "not modified"), and nothing reaches
the log as an error with a traceback, also when the group's replies hit a 429."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from emulator import Emulator
from storage.db import unit_of_work
from storage.models import ClaimStatus, OutboxMessage
from tests.conftest import STAFF_CHAT_ID, BotHarness
from tests.harness import Person
from tests.test_staff_review import (
    CODES,
    ELIGIBLE,
    ada_in_group,
    claim_of,
    import_codes,
    next_card,
    one_card_two_staff,
    sam_in_group,
    submitted,
    used_codes,
)

pytestmark = pytest.mark.quiet_staff_chat


class EditCounter:
    """Edits the emulator took and edits it refused, from here on."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.calls_from, self.sends_from = len(emulator.calls), len(emulator.send_log)

    @property
    def made(self) -> int:
        return sum(1 for _, method, _ in self.emulator.send_log[self.sends_from :] if method.startswith("editMessage"))

    @property
    def refused(self) -> int:
        attempted = sum(1 for method, _ in self.emulator.calls[self.calls_from :] if method.startswith("editMessage"))
        return attempted - self.made


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Errors, and anything logged with a traceback."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info
    ]


async def decisions(bot: BotHarness) -> int:
    async with unit_of_work(bot.sessions) as s:
        return int(
            await s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "decision")) or 0
        )


async def test_two_presses_on_one_card_one_decision_one_edit_no_traceback(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    order_id, alice, sam, ada, card = await one_card_two_staff(bot)
    edits = EditCounter(bot.emulator)

    await asyncio.gather(sam.press("✅ Approve", on=card), ada.press("✅ Approve", on=card))
    toasts = sorted([await sam.next_toast(), await sam.next_toast()])
    assert [t for t in toasts if "approved; code" in t] and [t for t in toasts if "already decided" in t], toasts
    await _both_done(sam, ada, order_id)
    shown = next(m for m in bot.emulator.messages(STAFF_CHAT_ID) if m["message_id"] == card.message_id)
    assert "Approved by" in shown["text"] and "reply_markup" not in shown  # the decision, no buttons

    assert (edits.made, edits.refused) == (1, 0)
    claim = await claim_of(bot, order_id)
    assert claim.status == ClaimStatus.APPROVED and await used_codes(bot) == [CODES[0]]
    assert await decisions(bot) == 1
    await bot.runtime.tick()
    await alice.expect("approved", CODES[0])
    assert problems(caplog) == []


async def _both_done(sam: Person, ada: Person, order_id: str) -> None:
    """Each staff member's updates run in order: once their next command is answered, what they
    pressed before it is finished, edits included. (Sam sees the whole group.)"""
    for person in (sam, ada):
        await person.send(f"/find {order_id}")
        found = await sam.next_reply()
        while found.kind == "edit":  # the winner's edit of the card may come after the toasts
            found = await sam.next_reply()
        assert order_id in found.text, found.text


async def test_two_approve_commands_at_once_with_a_429_on_the_group(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await import_codes(bot, CODES)
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    sam, ada = sam_in_group(bot), ada_in_group(bot)
    await bot.runtime.tick()
    card = await next_card(sam)
    edits = EditCounter(bot.emulator)
    bot.emulator.fail(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        times=1,
        chat_id=STAFF_CHAT_ID,
    )

    await asyncio.gather(sam.send(f"/approve {order_id}"), ada.send(f"/approve {order_id}"))
    seen = [await sam.next_reply() for _ in range(3)]  # two answers and the card's edit, in any order
    answers = sorted(r.text for r in seen if r.kind == "message")
    assert len(answers) == 2 and "already decided" in answers[0] and "approved; code" in answers[1], answers
    assert [r.message_id for r in seen if r.kind == "edit"] == [card.message_id]
    await _both_done(sam, ada, order_id)

    assert (edits.made, edits.refused) == (1, 0)
    assert await used_codes(bot) == [CODES[0]] and await decisions(bot) == 1
    assert problems(caplog) == []
