"""Bot API methods for files: sendPhoto, sendDocument, sendMediaGroup, getFile."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from .answer import Handler
from .errors import FILE_TOO_BIG, WRONG_FILE_ID, bad_request
from .files import FileStore
from .formatting import format_text
from .forum import bot_thread_content
from .media import DOWNLOAD_MAX_BYTES, check_photo, guess_mime
from .methods_messages import (
    ENTITIES_ERROR,
    read_markup,
    read_reply_parameters,
    reply_content,
    store_bot_message,
    text_fields,
)
from .models import FileRecord
from .params import MAX_CLOUD_UPLOAD, REQUEST_TOO_LARGE, Params, Upload
from .state import EmulatorState

FileKind = Literal["photo", "document"]
MEDIA_NOT_FOUND = "can't parse InputMedia: media not found"


def _from_upload(state: EmulatorState, upload: Upload, kind: FileKind) -> list[FileRecord]:
    """Store an uploaded file after Telegram's size checks."""
    if len(upload.data) > MAX_CLOUD_UPLOAD:
        raise REQUEST_TOO_LARGE
    if kind == "photo":
        check_photo(upload.data)
        return state.files.add_photo(upload.data)
    if not upload.data:
        raise bad_request("file must be non-empty")
    name = upload.filename or "document"
    content_type = upload.content_type
    if not content_type or content_type == "application/octet-stream":
        content_type = guess_mime(name)
    return [state.files.add_document(upload.data, name, content_type)]


def _from_reference(state: EmulatorState, value: str, kind: FileKind) -> list[FileRecord]:
    """An existing file_id; URLs cannot be fetched, since the emulator has no network."""
    record = state.files.get(value.strip())
    if record is None:
        raise bad_request(WRONG_FILE_ID)
    if record.kind != kind:
        raise bad_request(f"can't use file of type {record.kind.title()} as {kind.title()}")
    return state.files.photo_set(record) if kind == "photo" else [record]


def resolve_file(state: EmulatorState, p: Params, value: Any, kind: FileKind, *, missing: str) -> list[FileRecord]:
    """The records a file parameter names: an upload, ``attach://part``, or a file_id."""
    if isinstance(value, str) and value.startswith("attach://"):
        upload = p.files.get(value[len("attach://") :])
        if upload is None:
            raise bad_request(missing)
        return _from_upload(state, upload, kind)
    if isinstance(value, Upload):
        return _from_upload(state, value, kind)
    if isinstance(value, str) and value.strip():
        return _from_reference(state, value, kind)
    raise bad_request(missing)


def media_content(records: list[FileRecord], kind: FileKind) -> dict[str, Any]:
    if kind == "photo":
        return {"photo": [FileStore.photo_size_json(r) for r in records]}
    return {"document": FileStore.document_json(records[0])}


async def _send_file(state: EmulatorState, p: Params, kind: FileKind, method: str) -> Any:
    caption, entities = format_text(
        p.string("caption"), p.string("parse_mode"), p.json("caption_entities", ENTITIES_ERROR), kind="caption"
    )
    markup = read_markup(p)
    reply = read_reply_parameters(p)
    value: Any = p.files.get(kind) if kind in p.files else p.string(kind)
    records = resolve_file(state, p, value, kind, missing=f"there is no {kind} in the request")
    chat = state.chat_for_bot(p.chat_id())
    state.check_flood(chat)
    content = {**bot_thread_content(chat, p), **reply_content(chat, reply), **media_content(records, kind)}
    if caption:
        content.update(text_fields(caption, entities, key="caption"))
    if p.boolean("has_spoiler"):
        content["has_media_spoiler"] = True
    if p.boolean("show_caption_above_media"):
        content["show_caption_above_media"] = True
    stored = store_bot_message(state, chat, content, markup)
    state.log_send(method, chat.id)
    return stored.snapshot()


async def send_photo(state: EmulatorState, p: Params) -> Any:
    return await _send_file(state, p, "photo", "sendPhoto")


async def send_document(state: EmulatorState, p: Params) -> Any:
    return await _send_file(state, p, "document", "sendDocument")


def _album_kind(item: Any) -> FileKind:
    if not isinstance(item, dict):
        raise bad_request("can't parse InputMedia: Object expected")
    kind = item.get("type")
    if kind == "photo":
        return "photo"
    if kind == "document":
        return "document"
    if kind == "animation":
        raise bad_request("can't parse InputMedia: type \"animation\" can't be used in sendMediaGroup")
    raise bad_request(f'can\'t parse InputMedia: type "{kind}" is unsupported')


async def send_media_group(state: EmulatorState, p: Params) -> Any:
    """An album: 1-10 items of photos, or of documents; several items share a media_group_id."""
    if not p.has("media"):
        raise bad_request('parameter "media" is required')
    media = p.json("media", "can't parse media JSON object")
    if not isinstance(media, list):
        raise bad_request("can't parse media JSON object")
    if not media:
        raise bad_request("there are no messages to send")
    if len(media) > 10:
        raise bad_request("too many messages to send as an album")
    kinds = [_album_kind(item) for item in media]
    if "document" in kinds and "photo" in kinds:
        raise bad_request("document can't be mixed with other media types")
    reply = read_reply_parameters(p)
    items: list[tuple[FileKind, list[FileRecord], str, list[dict[str, Any]]]] = []
    captions = [
        format_text(item.get("caption"), item.get("parse_mode"), item.get("caption_entities"), kind="caption")
        for item in media
    ]
    for item, kind, (caption, entities) in zip(media, kinds, captions, strict=True):
        records = resolve_file(state, p, item.get("media"), kind, missing=MEDIA_NOT_FOUND)
        items.append((kind, records, caption, entities))
    chat = state.chat_for_bot(p.chat_id())
    state.check_flood(chat)
    quoted = {**bot_thread_content(chat, p), **reply_content(chat, reply)}
    group_id = str(secrets.randbits(62)) if len(items) > 1 else None
    sent: list[dict[str, Any]] = []
    for kind, records, caption, entities in items:
        content = {**quoted, **media_content(records, kind)}
        if group_id:
            content["media_group_id"] = group_id
        if caption:
            content.update(text_fields(caption, entities, key="caption"))
        sent.append(store_bot_message(state, chat, content, None).snapshot())
    state.log_send("sendMediaGroup", chat.id)
    return sent


async def get_file(state: EmulatorState, p: Params) -> Any:
    record = state.files.get((p.string("file_id") or "").strip())
    if record is None:
        raise bad_request("invalid file_id")
    if record.size > DOWNLOAD_MAX_BYTES:
        raise bad_request(FILE_TOO_BIG)
    return FileStore.file_json(record)


METHODS: dict[str, Handler] = {
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "sendMediaGroup": send_media_group,
    "getFile": get_file,
}
