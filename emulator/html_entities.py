"""Telegram-HTML parser and validator, a port of TDLib's ``parse_html``.

It walks the UTF-8 bytes exactly as TDLib does, so the "can't parse entities" errors carry the same
wording and byte offsets as the real server, and entity offsets come out in UTF-16 code units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip

SIMPLE_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


class EntityParseError(Exception):
    """The text is not valid for its parse_mode; the message is TDLib's."""


def is_space(c: int) -> bool:
    """TDLib's ``is_space`` (NUL included: the parser reads a C string)."""
    return c in (0x20, 0x09, 0x0D, 0x0A, 0x00, 0x0B)


def is_alpha(c: int) -> bool:
    return 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def is_alnum(c: int) -> bool:
    return is_alpha(c) or is_digit(c)


def is_hex_digit(c: int) -> bool:
    return is_digit(c) or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


def utf16_units_of_byte(c: int) -> int:
    """UTF-16 units a UTF-8 lead byte starts (continuation bytes count 0)."""
    if 0x80 <= c <= 0xBF:
        return 0
    return 2 if c >= 0xF0 else 1


def entity(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    """A MessageEntity dict."""
    return {"type": kind, "offset": offset, "length": length, **extra}


# TDLib's sort priority for entities that share offset and length (outer first).
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 10,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}


def sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order as Telegram sends them: by offset, longer first, then by type priority."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)))


def normalize_link(url: str) -> str | None:
    """A URL Telegram keeps for a text_link, or None when it would drop the entity."""
    url = url.strip()
    if not url:
        return None
    lowered = url.lower()
    if lowered.startswith(("http://", "https://", "tg://", "ton://")):
        return url
    if "://" in url or lowered.startswith(("javascript:", "data:", "mailto:")):
        return None
    return "http://" + url


class _Bytes:
    """UTF-8 bytes read like a C string: past the end is NUL."""

    def __init__(self, text: str) -> None:
        self.b = text.encode("utf-8")
        self.n = len(self.b)

    def at(self, i: int) -> int:
        return self.b[i] if i < self.n else 0


def decode_html_entity(t: _Bytes, pos: int) -> tuple[int, int]:
    """TDLib's ``decode_html_entity``: (code point, position after it), or (0, pos)."""
    end = pos + 1
    code = 0
    if t.at(pos + 1) == ord("#"):
        end += 1
        if t.at(pos + 2) == ord("x"):
            end += 1
            while is_hex_digit(t.at(end)):
                code = code * 16 + int(chr(t.at(end)), 16)
                end += 1
                if code >= 0x10FFFF:
                    return 0, pos
        else:
            while is_digit(t.at(end)):
                code = code * 10 + t.at(end) - 0x30
                end += 1
                if code >= 0x10FFFF:
                    return 0, pos
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while is_alpha(t.at(end)):
            end += 1
        name = t.b[pos + 1 : end]
        code = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}.get(name, 0)
        if code == 0:
            return 0, pos
    return code, (end + 1 if t.at(end) == ord(";") else end)


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16
    result_pos: int  # byte position in the result


def _read_attribute_value(t: _Bytes, i: int) -> tuple[str, int]:
    """A name token (lower-cased) or a quoted string with entities decoded."""
    quote = t.at(i)
    if quote not in (ord('"'), ord("'")):
        begin = i
        while is_alnum(t.at(i)) or t.at(i) in (ord("."), ord("-")):
            i += 1
        if not is_space(t.at(i)) and t.at(i) != ord(">"):
            raise EntityParseError(f"Unexpected end of name token at byte offset {begin}")
        return t.b[begin:i].decode("utf-8").lower(), i
    i += 1
    value = bytearray()
    while t.at(i) != quote and t.at(i) != 0:
        if t.at(i) == ord("&"):
            code, after = decode_html_entity(t, i)
            if code:
                value += chr(code).encode("utf-8", "surrogatepass")
                i = after
                continue
        value.append(t.at(i))
        i += 1
    if t.at(i) == quote:
        i += 1
    return value.decode("utf-8", "replace"), i


def _read_start_tag(t: _Bytes, begin: int, i: int, utf16: int, result_pos: int) -> tuple[_Open, int]:
    """Parse ``<tag attr=...>`` from the tag name on; returns the open tag and the '>' position."""
    while not is_space(t.at(i)) and t.at(i) != ord(">"):
        i += 1
    if t.at(i) == 0:
        raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
    tag = t.b[begin + 1 : i].decode("utf-8", "replace").lower()
    if tag not in SUPPORTED_TAGS:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')

    argument = ""
    while t.at(i) != ord(">"):
        while t.at(i) != 0 and is_space(t.at(i)):
            i += 1
        if t.at(i) == ord(">"):
            break
        attr_begin = i
        while not is_space(t.at(i)) and t.at(i) not in b"=>/\"'":
            i += 1
        attribute = t.b[attr_begin:i].decode("utf-8", "replace")
        if not attribute:
            raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        while t.at(i) != 0 and is_space(t.at(i)):
            i += 1
        if t.at(i) != ord("="):
            if t.at(i) == 0:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            if tag == "blockquote" and attribute == "expandable":
                argument = "1"
            continue
        i += 1
        while t.at(i) != 0 and is_space(t.at(i)):
            i += 1
        if t.at(i) == 0:
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        value, i = _read_attribute_value(t, i)
        if t.at(i) == 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        if (tag, attribute) in (("a", "href"), ("tg-emoji", "emoji-id")):
            argument = value
        elif tag == "code" and attribute == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and attribute == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "blockquote" and attribute == "expandable":
            argument = "1"

    if tag == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    return _Open(tag, argument, utf16, result_pos), i


def _close_entity(entities: list[dict[str, Any]], open_: _Open, length: int, result: bytearray) -> None:
    """Turn a closed tag into its entity (TDLib's rules for pre/code and links)."""
    offset, tag, arg = open_.offset, open_.tag, open_.argument
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == offset and last["length"] == length
    if tag in SIMPLE_TAG_TYPES:
        entities.append(entity(SIMPLE_TAG_TYPES[tag], offset, length))
    elif tag == "tg-emoji":
        if not arg.isdigit() or int(arg) <= 0 or int(arg) >= 2**63:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append(entity("custom_emoji", offset, length, custom_emoji_id=arg))
    elif tag == "a":
        raw = arg or result[open_.result_pos :].decode("utf-8", "replace")
        url = normalize_link(raw)
        if url is not None:
            entities.append(entity("text_link", offset, length, url=url))
    elif tag == "pre":
        if last is not None and same_span and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
        else:
            entities.append(entity("pre", offset, length))
    elif tag == "code":
        if last is not None and same_span and last["type"] == "pre" and arg:
            last["language"] = arg
        else:
            extra = {"language": arg} if arg else {}
            entities.append(entity("code", offset, length, **extra))
    elif tag == "blockquote":
        entities.append(entity("expandable_blockquote" if arg else "blockquote", offset, length))


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of Telegram HTML; raises :class:`EntityParseError` like TDLib."""
    t = _Bytes(text)
    result = bytearray()
    entities: list[dict[str, Any]] = []
    nested: list[_Open] = []
    utf16 = 0
    bad_surrogate = False
    i = 0
    while i < t.n:
        c = t.b[i]
        if c == ord("&"):
            code, after = decode_html_entity(t, i)
            if code:
                utf16 += 2 if code > 0xFFFF else 1
                bad_surrogate |= 0xD800 <= code <= 0xDFFF
                result += chr(code).encode("utf-8", "surrogatepass")
                i = after
                continue
        if c != ord("<"):
            utf16 += utf16_units_of_byte(c)
            result.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if t.at(i) != ord("/"):
            open_, i = _read_start_tag(t, begin, i, utf16, len(result))
            nested.append(open_)
            i += 1
            continue

        if not nested:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        while not is_space(t.at(i)) and t.at(i) != ord(">"):
            i += 1
        end_tag = t.b[begin + 2 : i].decode("utf-8", "replace").lower()
        while is_space(t.at(i)) and t.at(i) != 0:
            i += 1
        if t.at(i) != ord(">"):
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        open_ = nested[-1]
        if end_tag and end_tag != open_.tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{open_.tag}>", found "</{end_tag}>"'
            )
        if utf16 > open_.offset:
            _close_entity(entities, open_, utf16 - open_.offset, result)
        nested.pop()
        i += 1

    if nested:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{nested[-1].tag}"')
    if bad_surrogate:
        raise EntityParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for"
            " unmatched surrogate code units"
        )
    for e in entities:
        if e["type"] == "code":
            e.pop("language", None)
    return result.decode("utf-8"), sort_entities(entities)
