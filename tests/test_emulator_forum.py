"""The emulator's forum topics as PTB meets them: is_forum chats, createForumTopic, message_thread_id
on sends and on users' messages (with the topic's root as reply_to_message), and the refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import telegram
from telegram.error import BadRequest

from emulator import Emulator
from tests.test_emulator import png

TOKEN = "123456:TEST-TOKEN"
STAFF, GROUP, PLAIN = 9001, -100123, -100124


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(token=TOKEN, port=0, bot_username="redeem_demo_bot", bot_id=123456)
    emulator.add_user(STAFF, "Sam")
    emulator.add_group(GROUP, "Staff", [STAFF])
    emulator.add_group(PLAIN, "Plain", [STAFF])
    emulator.make_forum(GROUP)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(TOKEN, base_url=emu.api_base_url, base_file_url=emu.file_base_url) as b:
        yield b


async def test_topics_messages_and_replies_in_them(emu: Emulator, bot: telegram.Bot) -> None:
    assert (await bot.get_chat(GROUP)).is_forum is True
    assert not (await bot.get_chat(PLAIN)).is_forum
    topic = await bot.create_forum_topic(GROUP, "Alice · 1001")
    assert topic.name == "Alice · 1001" and topic.message_thread_id > 0
    service = emu.messages(GROUP)[-1]
    assert service["message_id"] == topic.message_thread_id and service["forum_topic_created"]["name"] == "Alice · 1001"

    sent = await bot.send_message(GROUP, "hello", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    photo = await bot.send_photo(GROUP, png(), caption="look", message_thread_id=topic.message_thread_id)
    assert photo.message_thread_id == topic.message_thread_id
    plain = await bot.send_message(GROUP, "in General")
    assert plain.message_thread_id is None

    # a user's message in the topic quotes its root; an explicit reply quotes the message replied to
    loose = await emu.user_sends_text(STAFF, "answer", chat_id=GROUP, thread_id=topic.message_thread_id)
    assert loose["is_topic_message"] and loose["reply_to_message"]["message_id"] == topic.message_thread_id
    quoted = await emu.user_sends_photo(
        STAFF, png(), chat_id=GROUP, thread_id=topic.message_thread_id, reply_to=sent.message_id
    )
    assert quoted["reply_to_message"]["message_id"] == sent.message_id
    assert quoted["message_thread_id"] == topic.message_thread_id


async def test_refusals(emu: Emulator, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)chat is not a forum"):
        await bot.create_forum_topic(PLAIN, "x")
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(GROUP, "lost", message_thread_id=999)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(PLAIN, "lost", message_thread_id=1)
    with pytest.raises(ValueError, match="has no topic"):
        await emu.user_sends_text(STAFF, "lost", chat_id=GROUP, thread_id=999)
