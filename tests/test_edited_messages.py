"""An edited message is not a new answer nor a command to run again (bot/edited.py): nothing
changes, and the person is told once, in one line, how to change an earlier answer."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from storage import conversations, members
from storage.db import unit_of_work
from storage.models import ActivationCode, ClaimStatus
from tests.conftest import BotHarness
from tests.factories import to_first_name
from tests.harness import Person
from tests.test_staff_review import CODES, ELIGIBLE, claim_of, import_codes, sam_in_group, submitted

EDIT_LINE = "I don't read edited messages again"


def sent_by(person: Person, text: str) -> int:
    """The id of the person's own message with this text."""
    for message in reversed(person.emulator.messages(person.chat_id)):
        if message.get("from", {}).get("id") == person.user_id and message.get("text") == text:
            return int(message["message_id"])
    raise AssertionError(f"{person.first_name} sent no {text!r}")


async def edit(person: Person, text: str, new_text: str) -> None:
    await person.emulator.user_edits_text(person.user_id, sent_by(person, text), new_text, chat_id=person.chat_id)


async def snapshot(bot: BotHarness, user_id: int) -> tuple[Any, ...]:
    """Everything an answer could change: the step, the answers, the profile."""
    async with unit_of_work(bot.sessions) as s:
        state = await conversations.load(s, user_id)
        member = await members.by_telegram_id(s, user_id)
        assert state is not None and member is not None
        return (
            state.flow,
            state.step,
            dict(state.data),
            member.email,
            member.first_name,
            member.last_name,
            member.updated_at,
        )


async def test_an_edited_earlier_answer_changes_nothing_and_the_customer_is_told(bot: BotHarness) -> None:
    alice = bot.person(1001, "Alice")
    await to_first_name(alice)
    before = await snapshot(bot, 1001)
    assert before[:2] == ("profile", "first_name")

    await edit(alice, "alice@example.com", "bob@example.com")  # while the bot asks for the first name
    told = await alice.expect(EDIT_LINE, "⬅️ Back", "/profile")
    assert told.buttons == []  # one line, not the question again
    assert await snapshot(bot, 1001) == before

    await alice.send("Alice")  # the journey goes on where it was
    await alice.expect("last name")
    after_name = await snapshot(bot, 1001)
    assert after_name[1:] != before[1:] and after_name[1] == "last_name" and after_name[4] == "Alice"

    await edit(alice, "Alice", "/help")  # an edit into a command is not run either
    await alice.expect(EDIT_LINE)
    assert await snapshot(bot, 1001) == after_name
    await alice.send("Tan")
    await alice.expect("Where do you live?")
    async with unit_of_work(bot.sessions) as s:
        member = await members.by_telegram_id(s, 1001)
        assert member is not None and (member.email, member.first_name, member.last_name) == (
            "alice@example.com",
            "Alice",
            "Tan",
        )


async def test_traditional_chinese_customer_is_told_in_chinese(bot: BotHarness) -> None:
    mei = bot.person(1002, "美玲", language_code="zh-hant")
    await mei.send("/help")
    await mei.next_reply()
    await edit(mei, "/help", "/faq")
    await mei.expect("已編輯的訊息")


@pytest.mark.quiet_staff_chat
async def test_an_edited_staff_command_is_not_run_again(bot: BotHarness) -> None:
    await import_codes(bot, CODES)
    order_id = await submitted(bot, 1001, ELIGIBLE[0])
    sam = sam_in_group(bot)
    await sam.send("Looking at the queue now")  # staff talking among themselves
    await sam.send("/queue")
    await sam.expect(order_id)

    await edit(sam, "/queue", f"/approve {order_id}")
    await sam.expect(EDIT_LINE)
    await edit(sam, "Looking at the queue now", "Done with the queue")  # not for the bot: no answer
    await sam.send("/queue")
    await sam.expect(order_id)  # the next thing the group sees is this answer, not a second line

    claim = await claim_of(bot, order_id)
    assert claim.status == ClaimStatus.REVIEW and claim.decided_by is None
    async with unit_of_work(bot.sessions) as s:
        assert (await s.scalars(select(ActivationCode).where(ActivationCode.claim_id.is_not(None)))).all() == []
