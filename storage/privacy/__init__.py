"""The customer's own data: export everything we hold (/mydata), erase it (/deleteme), and the
retention of photos of decided claims.

Plain async functions over a session (they flush, never commit) plus two pure helpers that
build the export files. One job per module: `export` (what /mydata sends), `packing` (its JSON and
zip files), `erasure` (/deleteme), `retention` (photos of decided claims), `files` (what they
share); this package re-exports them all, so `from storage import privacy` keeps working. Files
go through a `Files` object (storage.media.MediaStore fits), so this package knows nothing of
Telegram nor of where files live.

Decisions, written down (README "Your data (/mydata, /deleteme) and retention" says the same):

* **Export** (`export_member`): the profile, consent dates, products, claims with their items,
  status, decision reason, code and history, failed serial attempts, the journey in progress,
  the messages the bot queued for them, their photos' fingerprints and the audit entries about
  them. Never: other members (an audit entry whose `member_id` is someone else's is left out,
  `owner_member_id` is dropped), staff identities (who decided is "staff"), staff-internal
  entries (refused staff attempts). Photos go into a zip, split into parts below Telegram's
  50 MB (`pack_photos`).
* **Erasure** (`erase_member`) keeps the member row, detached and anonymised: its
  `telegram_user_id` and `chat_id` become the tombstone `-member.id` (Telegram ids are positive,
  so it never collides and the unique key is free for the person to /start again as a new
  member). Erased: e-mail, names, phone, username, newsletter, shipping addresses, the journey
  in progress, the messages to their chat in the outbox, their photos (files and paths; a file
  another row still points at stays, content-addressed store). Kept: `country` (the vendor
  accounts for prizes per country and the country-of-residence rule), language, consent and
  profile dates (evidence of what the earlier processing rested on), claims with order id,
  promotion, status, decisions, reason, assigned code, attempts and history, products that were
  part of a claim with serial, model, store, purchase date, channel, invoice number and the
  photo hashes (so "a serial registered once", "an invoice number + store used once" and
  "the same photo from two accounts" still hold), and failed serial attempts. A claim's e-mail is
  replaced by `email_token()` (a one-way hash), so it no longer reads as an address but the same
  address can still be recognised for the per-e-mail cap. Products never part of a claim are
  deleted outright (nothing to account for, and the person can register them again). Claims in
  review or waiting for missing information are withdrawn: final rejection, reason code
  `withdrawn` and no reason text (readers show `mydata.withdrawn_reason` in their own language
  for it; claims withdrawn before this release keep the English sentence they were given). The
  person's Telegram id in the history (claim events, audit entries) becomes the tombstone.
* **Retention** (`expire_photos`): the S/N photos of claims approved or finally rejected more
  than N days ago, and the invoice of a product whose claims are all such, are deleted (files and
  paths). Missing-information claims are not decided (the customer may still redeem again).
  A file still used by any row (another claim item, a product's invoice, a journey in progress)
  is kept; fingerprints keep their hashes and lose the path with the file.

Files are deleted before the transaction commits: if the commit failed, rows would point at
files already gone (which every reader tolerates), never the other way round (personal data
left on disk with nothing pointing at it).
"""

from __future__ import annotations

from storage.claims import email_token
from storage.privacy.erasure import (
    ERASED,
    WITHDRAWN_CODE,
    WITHDRAWN_REASON_KEY,
    Erasure,
    ErasurePreview,
    erase_member,
    preview_erasure,
)
from storage.privacy.export import EXPORT_FORMAT, ExportPhoto, MemberExport, export_member
from storage.privacy.files import DECIDED, MEDIA_PATH, OPEN, Files, still_referenced, tombstone_id
from storage.privacy.packing import ZIP_PART_LIMIT, export_json, pack_photos
from storage.privacy.retention import RetentionResult, expire_photos

__all__ = [
    "DECIDED",
    "ERASED",
    "EXPORT_FORMAT",
    "Erasure",
    "ErasurePreview",
    "ExportPhoto",
    "Files",
    "MEDIA_PATH",
    "MemberExport",
    "OPEN",
    "RetentionResult",
    "WITHDRAWN_CODE",
    "WITHDRAWN_REASON_KEY",
    "ZIP_PART_LIMIT",
    "email_token",
    "erase_member",
    "expire_photos",
    "export_json",
    "export_member",
    "pack_photos",
    "preview_erasure",
    "still_referenced",
    "tombstone_id",
]
