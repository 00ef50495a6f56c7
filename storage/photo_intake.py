"""Everything a customer's photo needs before it is recorded: checks, normalizing, hashes, barcodes.

This is CPU work (a 12-megapixel photo takes about a second to decode, normalize and read), so
it runs in a worker thread *before* the update's unit of work opens: the transaction then only
records the results, and other customers' answers never wait behind a photo for the database's
single writer (SQLite) or a held connection (PostgreSQL).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from storage.barcodes import read_serials
from storage.fingerprints import perceptual_hash
from storage.media import MediaStore


class PhotoUse(enum.Enum):
    """What a step wants from a photo, so no more work is done than it needs."""

    STORE = "store"  # keep it (invoice): normalized file, exact and perceptual hash
    STORE_AND_READ = "store_and_read"  # keep it and read the serials of its barcodes (S/N label)
    READ_SERIALS = "read_serials"  # only read the serials (the serial step's "send a photo")


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo ready to be recorded: where it was stored (None when it was only read), its
    fingerprints and the serial-like texts of its barcodes, most likely first."""

    use: PhotoUse
    path: str | None
    sha256: str | None
    phash: int | None
    serials: tuple[str, ...] = ()

    def serves(self, use: PhotoUse) -> bool:
        """Whether this preparation has what `use` needs (reading and storing include less)."""
        return use is self.use or self.use is PhotoUse.STORE_AND_READ


def prepare_photo(media: MediaStore, data: bytes, use: PhotoUse) -> PreparedPhoto:
    """Blocking: call it in a worker thread. Raises storage.media.ImageRejected for a file the
    media rules refuse (too big, a decompression bomb, not an accepted format…)."""
    if use is PhotoUse.READ_SERIALS:
        return PreparedPhoto(use, None, None, None, tuple(read_serials(data)))
    stored = media.save(data)
    normalized = media.read(stored.relative_path)
    try:
        phash: int | None = perceptual_hash(normalized)
    except ValueError:
        phash = None
    serials = tuple(read_serials(normalized)) if use is PhotoUse.STORE_AND_READ else ()
    return PreparedPhoto(use, stored.relative_path, stored.sha256, phash, serials)
