"""The export's files: the JSON document, and the photos as zip parts below Telegram's 50 MB."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from storage.privacy.export import ExportPhoto, MemberExport

log = logging.getLogger(__name__)

ZIP_PART_LIMIT = 49 * 1024 * 1024  # Telegram bots may send documents up to 50 MB; keep a margin


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def export_json(export: MemberExport) -> bytes:
    """The export as pretty UTF-8 JSON."""
    return json.dumps(export.data, ensure_ascii=False, indent=2, default=_json_default).encode()


_ZIP_END = 22  # end-of-central-directory record

_ZIP_ENTRY = 30 + 46 + 64  # local header + central directory entry + room for extra fields


def pack_photos(
    photos: list[ExportPhoto],
    read: Callable[[str], bytes],
    *,
    limit: int = ZIP_PART_LIMIT,
    when: datetime | None = None,
) -> list[bytes]:
    """The photos as one zip, or several parts each at most `limit` bytes (in order).

    Stored, not deflated (JPEGs do not shrink), so sizes are known before writing. A file that
    is missing on disk is left out (logged). Blocking I/O: run it in a thread.
    """
    stamp = (when or datetime(2026, 1, 1)).timetuple()[:6]
    entries: list[tuple[str, bytes]] = []
    for photo in photos:
        try:
            entries.append((photo.name, read(photo.path)))
        except (OSError, ValueError) as exc:
            log.warning("export: photo %s is missing (%s)", photo.path, exc)
    groups: list[list[tuple[str, bytes]]] = []
    current: list[tuple[str, bytes]] = []
    size = _ZIP_END
    for name, data in entries:
        cost = _ZIP_ENTRY + 2 * len(name.encode()) + len(data)
        if current and size + cost > limit:
            groups.append(current)
            current, size = [], _ZIP_END
        current.append((name, data))
        size += cost
    if current:
        groups.append(current)
    parts = []
    for group in groups:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for name, data in group:
                archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
        parts.append(buffer.getvalue())
    return parts
