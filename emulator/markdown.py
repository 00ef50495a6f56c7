"""MarkdownV2 and legacy Markdown parsers, after TDLib's ``parse_markdown_v2``/``parse_markdown``.

HTML is what this project uses; these exist so a bot sending ``parse_mode=MarkdownV2`` meets the
same "reserved character" and "can't find end" errors it would on Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .html_entities import (
    EntityParseError,
    _Bytes,
    entity,
    is_space,
    normalize_link,
    sort_entities,
    utf16_units_of_byte,
)

V2_RESERVED = b"_*[]()~`>#+-=|{}.!"
TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _Open:
    kind: str
    argument: str
    offset: int
    byte_offset: int
    result_pos: int


def _reserved_error(ch: int) -> EntityParseError:
    return EntityParseError(f"Character '{chr(ch)}' is reserved and must be escaped with the preceding '\\'")


def _skip_pre_language(t: _Bytes, i: int) -> tuple[str, int]:
    """After an opening ```: an optional language word, then one skipped line break."""
    language = ""
    end = i
    while not is_space(t.at(end)) and t.at(end) != ord("`"):
        end += 1
    if i != end and end < t.n and t.at(end) != ord("`"):
        language = t.b[i:end].decode("utf-8", "replace")
        i = end
    if t.at(i) in (0x0A, 0x0D):
        if t.at(i + 1) in (0x0A, 0x0D) and t.at(i) != t.at(i + 1):
            i += 2
        else:
            i += 1
    return language, i


def _is_end(open_: _Open, t: _Bytes, i: int) -> bool:
    c = t.at(i)
    kind = open_.kind
    if kind == "bold":
        return c == ord("*")
    if kind == "italic":
        return c == ord("_") and t.at(i + 1) != ord("_")
    if kind == "code":
        return c == ord("`")
    if kind in ("pre", "pre_code"):
        return c == ord("`") and t.at(i + 1) == ord("`") and t.at(i + 2) == ord("`")
    if kind in ("text_link", "custom_emoji"):
        return c == ord("]")
    if kind == "underline":
        return c == ord("_") and t.at(i + 1) == ord("_")
    if kind == "strikethrough":
        return c == ord("~")
    if kind == "spoiler":
        return c == ord("|") and t.at(i + 1) == ord("|")
    return False


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of MarkdownV2 (block quotes with '>' at line starts included)."""
    t = _Bytes(text)
    result = bytearray()
    entities: list[dict[str, Any]] = []
    nested: list[_Open] = []
    utf16 = 0
    quote_start: int | None = None
    i = 0
    while i < t.n:
        c = t.b[i]
        at_line_start = i == 0 or t.b[i - 1] == 0x0A
        in_code = bool(nested) and nested[-1].kind in ("code", "pre", "pre_code")
        if c == ord(">") and at_line_start and not in_code:
            if quote_start is None:
                quote_start = utf16
            i += 1
            continue
        if c == 0x0A and quote_start is not None and t.at(i + 1) != ord(">"):
            if utf16 > quote_start:
                entities.append(entity("blockquote", quote_start, utf16 - quote_start))
            quote_start = None
        if c == ord("\\") and 0 < t.at(i + 1) <= 126:
            result.append(t.b[i + 1])
            utf16 += 1
            i += 2
            continue
        reserved = b"`" if in_code else V2_RESERVED
        if c not in reserved:
            utf16 += utf16_units_of_byte(c)
            result.append(c)
            i += 1
            continue

        if not (nested and _is_end(nested[-1], t, i)):
            begin = i
            argument = ""
            if c == ord("_"):
                if t.at(i + 1) == ord("_"):
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif c == ord("*"):
                kind = "bold"
            elif c == ord("~"):
                kind = "strikethrough"
            elif c == ord("|"):
                if t.at(i + 1) != ord("|"):
                    raise _reserved_error(c)
                kind = "spoiler"
                i += 1
            elif c == ord("["):
                kind = "text_link"
            elif c == ord("`"):
                if t.at(i + 1) == ord("`") and t.at(i + 2) == ord("`"):
                    argument, i = _skip_pre_language(t, i + 3)
                    kind = "pre_code" if argument else "pre"
                    i -= 1
                else:
                    kind = "code"
            elif c == ord("!") and t.at(i + 1) == ord("["):
                kind = "custom_emoji"
                i += 1
            else:
                raise _reserved_error(c)
            nested.append(_Open(kind, argument, utf16, begin, len(result)))
            i += 1
            continue

        open_ = nested.pop()
        skip = utf16 == open_.offset
        argument = open_.argument
        if open_.kind in ("underline", "spoiler"):
            i += 1
        elif open_.kind in ("pre", "pre_code"):
            i += 2
        elif open_.kind in ("text_link", "custom_emoji"):
            url = ""
            if t.at(i + 1) != ord("("):
                url = result[open_.result_pos :].decode("utf-8", "replace")
            else:
                i += 2
                url_begin = i
                raw = bytearray()
                while i < t.n and t.b[i] != ord(")"):
                    if t.b[i] == ord("\\") and 0 < t.at(i + 1) <= 126:
                        raw.append(t.b[i + 1])
                        i += 2
                        continue
                    raw.append(t.b[i])
                    i += 1
                if t.at(i) != ord(")"):
                    raise EntityParseError(f"Can't find end of a URL at byte offset {url_begin}")
                url = raw.decode("utf-8", "replace")
            if open_.kind == "custom_emoji":
                emoji_id = url.removeprefix("tg://emoji?id=")
                if not emoji_id.isdigit():
                    raise EntityParseError("Custom emoji URL must have an emoji identifier")
                argument = emoji_id
            else:
                normalized = normalize_link(url)
                skip = skip or normalized is None
                argument = normalized or ""
        if not skip:
            length = utf16 - open_.offset
            if open_.kind == "text_link":
                entities.append(entity("text_link", open_.offset, length, url=argument))
            elif open_.kind == "custom_emoji":
                entities.append(entity("custom_emoji", open_.offset, length, custom_emoji_id=argument))
            elif open_.kind == "pre_code":
                entities.append(entity("pre", open_.offset, length, language=argument))
            else:
                entities.append(entity(open_.kind, open_.offset, length))
        i += 1

    if nested:
        last = nested[-1]
        raise EntityParseError(f"Can't find end of {TYPE_NAMES[last.kind]} entity at byte offset {last.byte_offset}")
    if quote_start is not None and utf16 > quote_start:
        entities.append(entity("blockquote", quote_start, utf16 - quote_start))
    return result.decode("utf-8"), sort_entities(entities)


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url), no nesting."""
    t = _Bytes(text)
    result = bytearray()
    entities: list[dict[str, Any]] = []
    utf16 = 0
    i = 0
    while i < t.n:
        c = t.b[i]
        if c == ord("\\") and t.at(i + 1) in b"_*`[":
            result.append(t.b[i + 1])
            utf16 += 1
            i += 2
            continue
        if c not in b"_*`[":
            utf16 += utf16_units_of_byte(c)
            result.append(c)
            i += 1
            continue
        begin = i
        end_char = ord("]") if c == ord("[") else c
        i += 1
        is_pre = False
        language = ""
        if c == ord("`") and t.at(i) == ord("`") and t.at(i + 1) == ord("`"):
            is_pre = True
            language, i = _skip_pre_language(t, i + 2)
        start16 = utf16
        start_pos = len(result)
        while i < t.n and (
            t.b[i] != end_char or (is_pre and not (t.at(i + 1) == ord("`") and t.at(i + 2) == ord("`")))
        ):
            utf16 += utf16_units_of_byte(t.b[i])
            result.append(t.b[i])
            i += 1
        if i >= t.n:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        length = utf16 - start16
        if length:
            if c == ord("_"):
                entities.append(entity("italic", start16, length))
            elif c == ord("*"):
                entities.append(entity("bold", start16, length))
            elif c == ord("["):
                url = result[start_pos:].decode("utf-8", "replace")
                if t.at(i + 1) == ord("("):
                    i += 2
                    raw = bytearray()
                    while i < t.n and t.b[i] != ord(")"):
                        raw.append(t.b[i])
                        i += 1
                    url = raw.decode("utf-8", "replace")
                normalized = normalize_link(url)
                if normalized:
                    entities.append(entity("text_link", start16, length, url=normalized))
            elif is_pre:
                extra = {"language": language} if language else {}
                entities.append(entity("pre", start16, length, **extra))
            else:
                entities.append(entity("code", start16, length))
        if is_pre:
            i += 2
        i += 1
    return result.decode("utf-8"), sort_entities(entities)
