"""Which mailbox an e-mail address delivers to, for counting the redeem limit per mailbox.

Lower case, a `+tag` dropped, and for Gmail (gmail.com, googlemail.com) the dots dropped, so
`A.B+x@Gmail.com` and `ab@gmail.com` are one mailbox. An `erased:` token (a deleted member's claim)
is its own key. Kept free of imports so the models can use it as a column default.
"""

from __future__ import annotations

GMAIL = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox_key(address: str) -> str:
    """The mailbox an address delivers to: `A.B+x@Gmail.com` -> `ab@gmail.com`."""
    text = (address or "").strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or text.startswith("erased:"):
        return text
    local = local.split("+", 1)[0] or local
    if domain in GMAIL:
        local, domain = local.replace(".", "") or local, GMAIL[domain]
    return f"{local}@{domain}"
