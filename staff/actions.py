"""The review card's buttons: encoded once here, decoded once here, into a typed action.

Button data carries ids only (Telegram allows 1-64 bytes):
`s:<action>:<claim id>:<attempt>[:<reason code>]`

    s:a  approve            s:r  show the reasons     s:b  back to the card's buttons
    s:x  reject with code   s:o  other reason (hint)  s:h  customer history

Handlers receive a `CardAction`; data that does not decode (an old or garbled button) is None,
and the router answers it with the "stale button" toast.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

PREFIX = "s"
_REASON_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")  # storage.reasons.REASON_CODE: no colon, short
MAX_DATA_BYTES = 64


class Button(enum.StrEnum):
    APPROVE = "a"
    REASONS = "r"
    BACK = "b"
    REJECT = "x"
    OTHER = "o"
    HISTORY = "h"


@dataclass(frozen=True)
class CardAction:
    """A pressed card button: what to do, to which claim, from the card of which attempt."""

    button: Button
    claim_id: int
    attempt: int
    reason_code: str | None = None  # REJECT only

    def encode(self) -> str:
        parts = [PREFIX, self.button.value, str(self.claim_id), str(self.attempt)]
        if self.reason_code is not None:
            parts.append(self.reason_code)
        data = ":".join(parts)
        assert len(data.encode()) <= MAX_DATA_BYTES, data
        return data


def is_staff_button(data: str | None) -> bool:
    """Whether a callback belongs to the staff side (decodable or not)."""
    return data is not None and data.startswith(PREFIX + ":")


def decode(data: str | None) -> CardAction | None:
    """The typed action, or None for data this version of the bot does not understand."""
    if not is_staff_button(data):
        return None
    assert data is not None
    parts = data.split(":")
    if len(parts) not in (4, 5):
        return None
    try:
        button = Button(parts[1])
        claim_id, attempt = int(parts[2]), int(parts[3])
    except ValueError:
        return None
    code = parts[4] if len(parts) == 5 else None
    if (button == Button.REJECT) != (code is not None) or (code is not None and not _REASON_CODE.fullmatch(code)):
        return None
    return CardAction(button, claim_id, attempt, code)
