"""What a user typed is cleaned where it enters the bot, before any handler or database sees it.

PostgreSQL refuses text containing NUL (`CharacterNotInRepertoireError`), and no database driver
can encode an unpaired UTF-16 surrogate, which JSON may carry as an escape ("\\ud800"). Both would
end a turn in "something went wrong" however sensible the rest of the text is. So every string of
an update (text, caption, callback data, contact, names) is cleaned once, when the JSON from
Telegram is parsed: NUL is dropped, a surrogate pair is joined, a lone surrogate becomes U+FFFD
(what Telegram itself delivers for one). Entity offsets count UTF-16 units, so they are moved left
past every dropped NUL; the other changes keep the length.
"""

from __future__ import annotations

import re
from typing import Any

_SUSPECT = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` without NUL, with surrogate pairs joined and lone surrogates replaced."""
    if _SUSPECT.search(text) is None:
        return text
    return text.replace("\x00", "").encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean_payload(value: Any) -> Any:
    """A copy of decoded JSON with every string cleaned (keys included) and entities kept aligned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_payload(item) for item in value]
    if isinstance(value, dict):
        cleaned = {clean_text(key): clean_payload(item) for key, item in value.items()}
        for text_key, entities_key in (("text", "entities"), ("caption", "caption_entities")):
            original = value.get(text_key)
            if isinstance(original, str) and "\x00" in original and isinstance(value.get(entities_key), list):
                cleaned[entities_key] = _shift_entities(original, cleaned[entities_key])
        return cleaned
    return value


def _shift_entities(original: str, entities: list[Any]) -> list[Any]:
    """Entities of `original` re-measured for the text without its NULs; one left empty is dropped."""
    removed: list[int] = []  # UTF-16 offset of each NUL in the original
    offset = 0
    for char in original:
        if char == "\x00":
            removed.append(offset)
        offset += 2 if ord(char) > 0xFFFF else 1

    def moved(position: int) -> int:
        return position - sum(1 for at in removed if at < position)

    shifted: list[Any] = []
    for entity in entities:
        if (
            not isinstance(entity, dict)
            or not isinstance(entity.get("offset"), int)
            or not isinstance(entity.get("length"), int)
        ):
            shifted.append(entity)
            continue
        start, end = moved(entity["offset"]), moved(entity["offset"] + entity["length"])
        if end > start:
            shifted.append({**entity, "offset": start, "length": end - start})
    return shifted
