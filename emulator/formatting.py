"""From a request's text + parse_mode (or entities) to the stored text and entities.

Applies what the real server applies after parsing: leading/trailing white space is trimmed
(entities follow), then the emptiness and length limits are checked in code points.
"""

from __future__ import annotations

from typing import Any, Literal

from .errors import (
    CAPTION_TOO_LONG,
    TEXT_EMPTY,
    TEXT_MUST_BE_NON_EMPTY,
    TEXT_TOO_LONG,
    UNSUPPORTED_PARSE_MODE,
    bad_request,
)
from .html_entities import EntityParseError, parse_html, sort_entities
from .markdown import parse_markdown, parse_markdown_v2

MAX_TEXT = 4096
MAX_CAPTION = 1024
TRIMMED = " \t\r\n\v\f"
ENTITY_TYPES = frozenset(
    {
        "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bold",
        "italic", "underline", "strikethrough", "spoiler", "blockquote", "expandable_blockquote",
        "code", "pre", "text_link", "text_mention", "custom_emoji",
    }
)  # fmt: skip


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_entities_param(raw: Any, text: str) -> list[dict[str, Any]]:
    """Entities given explicitly (``entities``/``caption_entities``), kept if they fit the text."""
    if not isinstance(raw, list):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    kept: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict) or item.get("type") not in ENTITY_TYPES:
            continue
        try:
            offset, length = int(item["offset"]), int(item["length"])
        except (KeyError, TypeError, ValueError):
            raise bad_request('can\'t parse MessageEntity: field "offset" must be a number') from None
        if offset < 0 or length <= 0 or offset >= size:
            continue
        kept.append({**item, "offset": offset, "length": min(length, size - offset)})
    return sort_entities(kept)


def apply_parse_mode(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Parse ``text`` in ``parse_mode`` (case-insensitive, as the server compares it)."""
    mode = (parse_mode or "").lower()
    try:
        if mode == "html":
            return parse_html(text)
        if mode == "markdownv2":
            return parse_markdown_v2(text)
        if mode == "markdown":
            return parse_markdown(text)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    if mode:
        raise bad_request(UNSUPPORTED_PARSE_MODE)
    return text, []


def trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip white space at both ends, moving and clipping entities like Telegram does."""
    stripped = text.lstrip(TRIMMED)
    lead = len(text) - len(stripped)  # white space is BMP: one UTF-16 unit each
    stripped = stripped.rstrip(TRIMMED)
    size = utf16_len(stripped)
    out: list[dict[str, Any]] = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, size)
        if end > start:
            out.append({**e, "offset": start, "length": end - start})
    return stripped, out


def format_text(
    text: str | None,
    parse_mode: str | None,
    entities: Any = None,
    *,
    kind: Literal["text", "caption"] = "text",
) -> tuple[str, list[dict[str, Any]]]:
    """Validated (text, entities) for a message text or caption; raises ``ApiError``."""
    if kind == "text" and not text:
        raise bad_request(TEXT_EMPTY)
    text = text or ""
    if entities is not None:
        parsed, found = text, parse_entities_param(entities, text)
    else:
        parsed, found = apply_parse_mode(text, parse_mode)
    parsed, found = trim(parsed, found)
    if kind == "text":
        if not parsed:
            raise bad_request(TEXT_MUST_BE_NON_EMPTY)
        if len(parsed) > MAX_TEXT:
            raise bad_request(TEXT_TOO_LONG)
    elif len(parsed) > MAX_CAPTION:
        raise bad_request(CAPTION_TOO_LONG)
    return parsed, found
