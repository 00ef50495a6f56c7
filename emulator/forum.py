"""Forum topics of a supergroup: which chats are forums, their topics, and a message's thread.

A supergroup with topics enabled has ``"is_forum": true`` in its Chat. ``createForumTopic``
(methods_forum.py) posts a ``forum_topic_created`` service message whose id is the topic's
``message_thread_id``. Messages sent into a topic carry ``message_thread_id`` and
``is_topic_message``; a user's message in a topic that quotes nothing has the topic's service
message as ``reply_to_message``, as Telegram sends it.
"""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .models import ChatState
from .params import Params

THREAD_NOT_FOUND = "message thread not found"
NOT_A_FORUM = "the chat is not a forum"


def is_forum(chat: ChatState) -> bool:
    return bool(chat.chat.get("is_forum"))


def enable(chat: ChatState, enabled: bool = True) -> None:
    """Turns topics on (or off) for a supergroup, as its admin would in the group's settings."""
    if chat.is_private:
        raise ValueError("only a supergroup can be a forum")
    if enabled:
        chat.chat["is_forum"] = True
    else:
        chat.chat.pop("is_forum", None)


def _topic_fields(chat: ChatState, thread_id: int) -> dict[str, Any]:
    if not is_forum(chat) or thread_id not in chat.topics:
        raise bad_request(THREAD_NOT_FOUND)
    return {"message_thread_id": thread_id, "is_topic_message": True}


def bot_thread_content(chat: ChatState, p: Params) -> dict[str, Any]:
    """``message_thread_id`` of a send: the topic's fields, or {} without one (General)."""
    thread_id = p.integer("message_thread_id")
    if not thread_id:
        return {}
    if chat.is_private:
        raise bad_request(THREAD_NOT_FOUND)
    return _topic_fields(chat, thread_id)


def user_thread_content(chat: ChatState, thread_id: int | None, quoting: bool) -> dict[str, Any]:
    """A user's message written in a topic; without a quote it replies to the topic's root."""
    if thread_id is None:
        return {}
    try:
        fields = _topic_fields(chat, thread_id)
    except Exception as exc:
        raise ValueError(f"chat {chat.id} has no topic {thread_id}") from exc
    root = chat.live_message(thread_id)
    if not quoting and root is not None:
        fields["reply_to_message"] = root.snapshot()
    return fields
