"""Bot API methods that send, edit and delete text messages, and answer button presses."""

from __future__ import annotations

import time
from typing import Any

from .answer import Handler
from .errors import CHAT_NOT_FOUND, DELETE_NOT_FOUND, EDIT_NOT_FOUND, NOT_MODIFIED, QUERY_TOO_OLD, bad_request
from .formatting import format_text
from .forum import bot_thread_content
from .keyboards import BAD_MARKUP, inline_markup, parse_reply_markup
from .models import ChatState, StoredMessage
from .params import Params
from .state import EmulatorState

CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip
ENTITIES_ERROR = "can't parse entities JSON object"


# -- helpers shared with methods_media ---------------------------------------------------------
def read_markup(p: Params) -> dict[str, Any] | None:
    return parse_reply_markup(p.json("reply_markup", BAD_MARKUP))


def read_reply_parameters(p: Params) -> dict[str, Any] | None:
    """``reply_parameters``, or the older ``reply_to_message_id`` + ``allow_sending_without_reply``."""
    reply = p.json("reply_parameters", "can't parse reply parameters JSON object")
    if reply is None and p.has("reply_to_message_id"):
        reply = {
            "message_id": p.integer("reply_to_message_id"),
            "allow_sending_without_reply": p.boolean("allow_sending_without_reply"),
        }
    if reply is not None and not isinstance(reply, dict):
        raise bad_request("can't parse reply parameters JSON object")
    return reply


def reply_content(chat: ChatState, reply: dict[str, Any] | None) -> dict[str, Any]:
    """``reply_to_message`` for the new message, or refuse when the target is gone."""
    if not reply:
        return {}
    try:
        target = chat.live_message(int(reply.get("message_id") or 0))
    except (TypeError, ValueError):
        target = None
    if target is None:
        if reply.get("allow_sending_without_reply"):
            return {}
        raise bad_request("message to be replied not found")
    quoted = target.snapshot()
    quoted.pop("reply_to_message", None)
    return {"reply_to_message": quoted}


def store_bot_message(
    state: EmulatorState,
    chat: ChatState,
    content: dict[str, Any],
    markup: dict[str, Any] | None,
) -> StoredMessage:
    """Store one bot message and record its "message" event."""
    inline = inline_markup(markup)
    if inline:
        content["reply_markup"] = inline
    stored = state.new_message(chat, state.bot_user, content, from_bot=True, markup=markup)
    state.record_event(chat.id, "message", message=stored.data, reply_markup=markup)
    return stored


def text_fields(text: str, entities: list[dict[str, Any]], key: str = "text") -> dict[str, Any]:
    fields: dict[str, Any] = {key: text}
    if entities:
        fields["entities" if key == "text" else "caption_entities"] = entities
    return fields


def target_message(state: EmulatorState, p: Params, *, missing: str) -> tuple[ChatState, StoredMessage]:
    """The chat and live message an edit or delete names."""
    if p.has("inline_message_id"):
        raise bad_request(missing)  # the emulator has no inline mode
    chat_id = p.chat_id()
    message_id = p.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    chat = state.chat_for_bot(chat_id)
    stored = chat.live_message(message_id)
    if stored is None:
        raise bad_request(missing)
    return chat, stored


def editable_markup(p: Params) -> dict[str, Any] | None:
    markup = read_markup(p)
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def apply_edit(
    state: EmulatorState,
    chat: ChatState,
    stored: StoredMessage,
    method: str,
    changes: dict[str, Any],
    markup: dict[str, Any] | None,
) -> dict[str, Any]:
    """Apply an edit (None values remove keys), refusing one that changes nothing."""
    inline = inline_markup(markup)
    changes = {**changes, "reply_markup": inline}
    if all(stored.data.get(k) == v for k, v in changes.items()):
        raise bad_request(NOT_MODIFIED)
    state.check_flood(chat)
    for key, value in changes.items():
        if value is None:
            stored.data.pop(key, None)
        else:
            stored.data[key] = value
    stored.data["edit_date"] = int(time.time())
    stored.markup = markup
    state.record_event(chat.id, "edit", message=stored.data, reply_markup=markup)
    state.log_send(method, chat.id)
    return stored.snapshot()


# -- methods ----------------------------------------------------------------------------------
async def send_message(state: EmulatorState, p: Params) -> Any:
    text, entities = format_text(p.string("text"), p.string("parse_mode"), p.json("entities", ENTITIES_ERROR))
    markup = read_markup(p)
    reply = read_reply_parameters(p)
    chat = state.chat_for_bot(p.chat_id())
    state.check_flood(chat)
    content = {**bot_thread_content(chat, p), **reply_content(chat, reply), **text_fields(text, entities)}
    if p.boolean("protect_content"):
        content["has_protected_content"] = True
    stored = store_bot_message(state, chat, content, markup)
    state.log_send("sendMessage", chat.id)
    return stored.snapshot()


async def edit_message_text(state: EmulatorState, p: Params) -> Any:
    text, entities = format_text(p.string("text"), p.string("parse_mode"), p.json("entities", ENTITIES_ERROR))
    markup = editable_markup(p)
    chat, stored = target_message(state, p, missing=EDIT_NOT_FOUND)
    if not stored.from_bot:
        raise bad_request("message can't be edited")
    if "text" not in stored.data:
        raise bad_request("there is no text in the message to edit")
    changes = {"text": text, "entities": entities or None}
    return apply_edit(state, chat, stored, "editMessageText", changes, markup)


async def edit_message_caption(state: EmulatorState, p: Params) -> Any:
    caption, entities = format_text(
        p.string("caption"),
        p.string("parse_mode"),
        p.json("caption_entities", ENTITIES_ERROR),
        kind="caption",
    )
    markup = editable_markup(p)
    chat, stored = target_message(state, p, missing=EDIT_NOT_FOUND)
    if not stored.from_bot:
        raise bad_request("message can't be edited")
    if "photo" not in stored.data and "document" not in stored.data:
        raise bad_request("there is no caption in the message to edit")
    changes = {"caption": caption or None, "caption_entities": entities or None}
    return apply_edit(state, chat, stored, "editMessageCaption", changes, markup)


async def edit_message_reply_markup(state: EmulatorState, p: Params) -> Any:
    markup = editable_markup(p)
    chat, stored = target_message(state, p, missing=EDIT_NOT_FOUND)
    if not stored.from_bot:
        raise bad_request("message can't be edited")
    return apply_edit(state, chat, stored, "editMessageReplyMarkup", {}, markup)


async def delete_message(state: EmulatorState, p: Params) -> Any:
    chat, stored = target_message(state, p, missing=DELETE_NOT_FOUND)
    stored.deleted = True
    state.record_event(chat.id, "delete", message=stored.data)
    return True


async def delete_messages(state: EmulatorState, p: Params) -> Any:
    ids = p.json("message_ids", "can't parse message identifiers JSON object")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message identifiers are not specified")
    chat = state.chat_for_bot(p.chat_id())
    found = [chat.live_message(int(i)) for i in ids]
    if not any(found):
        raise bad_request(DELETE_NOT_FOUND)
    for stored in found:
        if stored is not None:
            stored.deleted = True
            state.record_event(chat.id, "delete", message=stored.data)
    return True


async def answer_callback_query(state: EmulatorState, p: Params) -> Any:
    query = state.callback_queries.get(p.string("callback_query_id") or "")
    if query is None or query.answered:
        raise bad_request(QUERY_TOO_OLD)
    text = p.string("text") or None
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answered = True
    state.record_event(
        query.chat_id, "callback_answer", text=text, show_alert=p.boolean("show_alert"), query_id=query.query_id
    )
    return True


async def send_chat_action(state: EmulatorState, p: Params) -> Any:
    chat_id = p.chat_id()
    if p.string("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    state.chat_for_bot(chat_id)
    return True


COPIED_FIELDS = ("text", "entities", "photo", "document", "caption", "caption_entities", "contact")


def _source_message(state: EmulatorState, p: Params, missing: str) -> StoredMessage:
    """The message forwardMessage/copyMessage read from ``from_chat_id``."""
    from_chat_id = p.integer("from_chat_id")
    if not from_chat_id:
        raise bad_request("from_chat_id is empty")
    chat = state.chats.get(from_chat_id)
    if chat is None:
        raise bad_request(CHAT_NOT_FOUND)
    stored = chat.live_message(p.integer("message_id") or 0)
    if stored is None:
        raise bad_request(missing)
    return stored


async def forward_message(state: EmulatorState, p: Params) -> Any:
    source = _source_message(state, p, "message to forward not found")
    chat = state.chat_for_bot(p.chat_id())
    state.check_flood(chat)
    content = {k: v for k, v in source.snapshot().items() if k in COPIED_FIELDS}
    origin_chat = source.data["chat"]
    if origin_chat["type"] == "private" or source.from_bot:
        origin = {"type": "user", "sender_user": source.data["from"]}
    else:
        origin = {"type": "chat", "sender_chat": origin_chat}
    content["forward_origin"] = {**origin, "date": source.data["date"]}
    stored = store_bot_message(state, chat, content, None)
    state.log_send("forwardMessage", chat.id)
    return stored.snapshot()


async def copy_message(state: EmulatorState, p: Params) -> Any:
    """A copy without a link to the original; media captions may be replaced. Returns MessageId."""
    source = _source_message(state, p, "message to copy not found")
    content = {k: v for k, v in source.snapshot().items() if k in COPIED_FIELDS}
    if p.has("caption") and ("photo" in content or "document" in content):
        caption, entities = format_text(
            p.string("caption"), p.string("parse_mode"), p.json("caption_entities", ENTITIES_ERROR), kind="caption"
        )
        content.pop("caption", None)
        content.pop("caption_entities", None)
        if caption:
            content.update(text_fields(caption, entities, key="caption"))
    markup = read_markup(p)
    reply = read_reply_parameters(p)
    chat = state.chat_for_bot(p.chat_id())
    state.check_flood(chat)
    content.update(reply_content(chat, reply))
    stored = store_bot_message(state, chat, content, markup)
    state.log_send("copyMessage", chat.id)
    return {"message_id": stored.message_id}


METHODS: dict[str, Handler] = {
    "sendMessage": send_message,
    "forwardMessage": forward_message,
    "copyMessage": copy_message,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "deleteMessages": delete_messages,
    "answerCallbackQuery": answer_callback_query,
    "sendChatAction": send_chat_action,
}
