"""Bot API methods of forum topics: createForumTopic, editForumTopic, closeForumTopic, reopenForumTopic."""

from __future__ import annotations

from typing import Any

from .answer import Handler
from .errors import bad_request
from .forum import NOT_A_FORUM, THREAD_NOT_FOUND, is_forum
from .models import ChatState
from .params import Params
from .state import EmulatorState

ICON_COLORS = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)  # the six Telegram allows
MAX_NAME = 128


def _forum(state: EmulatorState, p: Params) -> ChatState:
    chat = state.chat_for_bot(p.chat_id())
    if chat.is_private or not is_forum(chat):
        raise bad_request(NOT_A_FORUM)
    return chat


def _name(p: Params) -> str:
    name = (p.string("name") or "").strip()
    if not name:
        raise bad_request("topic name must be non-empty")
    if len(name) > MAX_NAME:
        raise bad_request("TOPIC_TITLE_TOO_LONG")  # hypothetical exact text; the limit is Telegram's
    return name


async def create_forum_topic(state: EmulatorState, p: Params) -> Any:
    """A new topic: its service message's id is the topic's message_thread_id (a ForumTopic back)."""
    chat = _forum(state, p)
    name = _name(p)
    color = p.integer("icon_color", ICON_COLORS[0])
    if color not in ICON_COLORS:
        raise bad_request("TOPIC_COLOR_INVALID")
    state.check_flood(chat)
    created = {"name": name, "icon_color": color}
    thread_id = chat.next_message_id
    content = {"message_thread_id": thread_id, "is_topic_message": True, "forum_topic_created": created}
    stored = state.new_message(chat, state.bot_user, content, from_bot=True)
    chat.topics[thread_id] = {"message_thread_id": thread_id, "name": name, "icon_color": color, "closed": False}
    state.record_event(chat.id, "message", message=stored.data)
    state.log_send("createForumTopic", chat.id)
    return {"message_thread_id": thread_id, "name": name, "icon_color": color}


def _topic(chat: ChatState, p: Params) -> dict[str, Any]:
    topic = chat.topics.get(p.integer("message_thread_id") or 0)
    if topic is None:
        raise bad_request(THREAD_NOT_FOUND)
    return topic


async def edit_forum_topic(state: EmulatorState, p: Params) -> Any:
    topic = _topic(_forum(state, p), p)
    if p.has("name"):
        topic["name"] = _name(p)
    return True


async def close_forum_topic(state: EmulatorState, p: Params) -> Any:
    _topic(_forum(state, p), p)["closed"] = True
    return True


async def reopen_forum_topic(state: EmulatorState, p: Params) -> Any:
    _topic(_forum(state, p), p)["closed"] = False
    return True


METHODS: dict[str, Handler] = {
    "createForumTopic": create_forum_topic,
    "editForumTopic": edit_forum_topic,
    "closeForumTopic": close_forum_topic,
    "reopenForumTopic": reopen_forum_topic,
}
