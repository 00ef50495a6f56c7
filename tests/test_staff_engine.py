"""Staff updates on the engine customers use: one unit of work per update (counted on the
engine), access checked and refusals audited inside it, replies and card edits after the
commit, a refused decision that leaves the card alone, a redelivered press that changes nothing."""

from __future__ import annotations

import asyncio
import contextvars
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from telegram import Update

from bot.context import BotContext
from staff.router import Route, StaffRouter
from storage import review
from storage.db import unit_of_work
from storage.models import AuditEntry, ClaimStatus, OutboxMessage
from tests.conftest import ADMIN_ID, STAFF_CHAT_ID, STAFF_ID, BotHarness
from tests.test_staff_review import (
    CODES,
    ELIGIBLE,
    ada_in_group,
    audit_actions,
    claim_of,
    import_codes,
    in_staff_group,
    next_card,
    sam_in_group,
    submitted,
    used_codes,
)
from tests.test_update_inbox import _redeliver, _start, _stop

pytestmark = pytest.mark.quiet_staff_chat

HANDLING: contextvars.ContextVar[int | None] = contextvars.ContextVar("handling", default=None)


@dataclass
class StaffUpdates:
    """What the staff router handled, in order: transactions begun per update id, the raw
    updates, and an event per update id set when its handling (delivery included) ended."""

    begins: Counter[int] = field(default_factory=Counter)
    raw: dict[int, dict[str, Any]] = field(default_factory=dict)
    done: dict[int, asyncio.Event] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    consumed: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def started(self, update_id: int) -> None:
        self.order.append(update_id)
        self.done[update_id] = asyncio.Event()
        self.arrived.set()

    async def finished(self, count: int) -> list[int]:
        """The next `count` staff updates not looked at yet, once each has been handled."""
        while len(self.order) < self.consumed + count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 10)
        ids = self.order[self.consumed : self.consumed + count]
        self.consumed += count
        for update_id in ids:
            await asyncio.wait_for(self.done[update_id].wait(), 10)
        return ids


@pytest.fixture
def staff_updates(bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> Iterator[StaffUpdates]:
    """Counts the engine's BEGINs made while the staff router handles an update (a context
    variable follows the update's task into SQLAlchemy's events)."""
    seen = StaffUpdates()
    original = StaffRouter.handle

    async def handle(self: StaffRouter, update: Update, context: BotContext, route: Route) -> None:
        seen.raw[update.update_id] = update.to_dict()
        seen.started(update.update_id)
        token = HANDLING.set(update.update_id)
        try:
            await original(self, update, context, route)
        finally:
            HANDLING.reset(token)
            seen.done[update.update_id].set()

    def on_begin(_connection: Any) -> None:
        update_id = HANDLING.get()
        if update_id is not None:
            seen.begins[update_id] += 1

    monkeypatch.setattr(StaffRouter, "handle", handle)
    event.listen(Engine, "begin", on_begin)  # every engine: a restarted bot makes a new one
    yield seen
    event.remove(Engine, "begin", on_begin)


def edits_since(bot: BotHarness, mark: int) -> list[str]:
    """Edit requests the bot made after `mark` calls (taken or refused by the emulator)."""
    return [method for method, _ in bot.emulator.calls[mark:] if method.startswith("editMessage")]


async def test_an_approve_press_is_one_unit_of_work(bot: BotHarness, staff_updates: StaffUpdates) -> None:
    await import_codes(bot, CODES)
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    card = await next_card(sam)

    await sam.press("✅ Approve", on=card)
    assert CODES[0] in await sam.next_toast()
    edited = await sam.next_reply()
    assert edited.kind == "edit" and edited.message_id == card.message_id and "Approved" in edited.text
    (update_id,) = await staff_updates.finished(1)
    assert staff_updates.begins[update_id] == 1  # access, decision, audit, card read: one transaction
    assert (await claim_of(bot, order_id)).status == ClaimStatus.APPROVED

    await sam.send(f"/approve {order_id}")  # a typed command too, refused or not
    await sam.expect("already decided")
    (command_id,) = await staff_updates.finished(1)
    assert staff_updates.begins[command_id] == 1


async def test_a_refused_decision_does_not_edit_the_card(bot: BotHarness, staff_updates: StaffUpdates) -> None:
    await import_codes(bot, CODES)
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    ada = ada_in_group(bot)
    await bot.runtime.tick()
    card = await next_card(ada)
    async with unit_of_work(bot.sessions) as s:  # Sam decided elsewhere (another worker, his /next copy)
        await review.approve(s, order_id, STAFF_ID, bot.clock.now(), actor=review.Actor(STAFF_ID, "Sam", "sam_staff"))

    mark = len(bot.emulator.calls)
    await ada.press("✅ Approve", on=card)  # the card still shows its buttons
    toast = await ada.next_toast()
    assert "already decided" in toast and "Sam (@sam_staff)" in toast and "Approved" in toast
    await staff_updates.finished(1)
    assert edits_since(bot, mark) == []  # the card is left alone: no "message is not modified"

    await ada.send(f"/approve {order_id}")
    await ada.expect("already decided", "Sam (@sam_staff)")
    await staff_updates.finished(1)
    assert edits_since(bot, mark) == []
    assert [a.details["attempted"] for a in await audit_actions(bot, "claim.decision_refused")] == [
        "approve",
        "approve",
    ]
    assert await used_codes(bot) == [CODES[0]]


async def test_non_staff_are_refused_in_their_language_with_an_audit_row_in_one_unit_of_work(
    bot: BotHarness, staff_updates: StaffUpdates
) -> None:
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    bot.emulator.add_user(1006, "Mallory", username="mallory", language_code="zh-Hant")
    bot.emulator.add_group(STAFF_CHAT_ID, "Redemption staff", [STAFF_ID, ADMIN_ID, 1006])
    mallory = in_staff_group(bot, 1006, "Mallory", "mallory")
    bot.emulator.add_user(1006, "Mallory", username="mallory", language_code="zh-Hant")
    await bot.runtime.tick()
    card = await next_card(mallory)

    await mallory.press("✅ Approve", on=card)
    assert "僅限活動工作人員" in await mallory.next_toast()
    await mallory.send(f"/approve {order_id}")
    await mallory.expect("僅限活動工作人員")
    pressed, typed = await staff_updates.finished(2)
    assert staff_updates.begins[pressed] == 1 and staff_updates.begins[typed] == 1

    refused = await audit_actions(bot, "staff.refused")
    assert [(a.actor_user_id, a.subject) for a in refused] == [(1006, "review.button"), (1006, "approve")]
    claim = await claim_of(bot, order_id)
    assert claim.status == ClaimStatus.REVIEW and claim.decided_by is None


async def test_a_redelivered_press_changes_nothing_and_is_answered(
    bot: BotHarness, staff_updates: StaffUpdates
) -> None:
    await import_codes(bot, CODES)
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    sam = sam_in_group(bot)
    await bot.runtime.tick()
    card = await next_card(sam)
    await sam.press("✅ Approve", on=card)
    assert CODES[0] in await sam.next_toast()
    await sam.next_reply()
    (update_id,) = await staff_updates.finished(1)

    await _stop(bot)  # a restart before the offset was confirmed: Telegram sends the press again
    mark = len(bot.emulator.calls)
    _redeliver(bot.emulator, staff_updates.raw[update_id])
    await _start(bot)
    (again,) = await staff_updates.finished(1)
    assert again == update_id and staff_updates.begins[update_id] == 2  # one unit of work each time
    answers = [params for method, params in bot.emulator.calls[mark:] if method == "answerCallbackQuery"]
    assert len(answers) == 1 and "already taken care of" in str(answers[0].get("text"))  # too old for Telegram by now
    assert await used_codes(bot) == [CODES[0]]
    assert [a.subject for a in await audit_actions(bot, "claim.approved")] == [order_id]
    assert await audit_actions(bot, "claim.decision_refused") == []
    async with unit_of_work(bot.sessions) as s:
        kinds = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "decision")
        assert await s.scalar(kinds) == 1
        assert (
            await s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "staff.refused"))
            == 0
        )
