"""Stored files: opaque file_ids, download paths, and the JSON objects that describe them."""

from __future__ import annotations

import secrets
from typing import Any

from .media import extension_for, photo_variants, sniff_image_mime
from .models import FileRecord


class FileStore:
    """Every file users or the bot sent, by file_id and by download path."""

    def __init__(self) -> None:
        self.by_id: dict[str, FileRecord] = {}
        self.by_path: dict[str, FileRecord] = {}
        self._counter = 0

    def _new_ids(self, prefix: str) -> tuple[str, str, int]:
        self._counter += 1
        n = self._counter
        file_id = f"{prefix}{n:06d}{secrets.token_urlsafe(18)}"
        unique_id = f"AQAD{n:06d}{secrets.token_urlsafe(6)}"
        return file_id, unique_id, n

    def add_photo(self, data: bytes) -> list[FileRecord]:
        """One photo as its sizes (smallest first), linked so any size's file_id resends all."""
        records: list[FileRecord] = []
        for variant in photo_variants(data):
            file_id, unique_id, n = self._new_ids("AgACAgIAAxkBAAI")
            record = FileRecord(
                file_id=file_id,
                file_unique_id=unique_id,
                kind="photo",
                data=variant.data,
                file_path=f"photos/file_{n}.jpg",
                mime_type=sniff_image_mime(variant.data),
                width=variant.width,
                height=variant.height,
            )
            records.append(record)
        ids = [r.file_id for r in records]
        for record in records:
            record.photo_set = ids
            self._index(record)
        return records

    def add_document(self, data: bytes, file_name: str | None, mime_type: str | None) -> FileRecord:
        file_id, unique_id, n = self._new_ids("BQACAgIAAxkBAAI")
        ext = extension_for(file_name, mime_type, "bin")
        record = FileRecord(
            file_id=file_id,
            file_unique_id=unique_id,
            kind="document",
            data=data,
            file_path=f"documents/file_{n}.{ext}",
            mime_type=mime_type,
            file_name=file_name,
        )
        self._index(record)
        return record

    @property
    def counter(self) -> int:
        """The number of the last file stored: new file_ids and paths count on from it."""
        return self._counter

    @counter.setter
    def counter(self, value: int) -> None:
        self._counter = value

    def restore(self, record: FileRecord) -> None:
        """A file kept from an earlier run (emulator/persist.py), under its old file_id and path."""
        self._index(record)

    def _index(self, record: FileRecord) -> None:
        self.by_id[record.file_id] = record
        self.by_path[record.file_path] = record

    def get(self, file_id: str) -> FileRecord | None:
        return self.by_id.get(file_id)

    def photo_set(self, record: FileRecord) -> list[FileRecord]:
        return [self.by_id[i] for i in record.photo_set] or [record]

    @staticmethod
    def photo_size_json(record: FileRecord) -> dict[str, Any]:
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "width": record.width,
            "height": record.height,
            "file_size": record.size,
        }

    @staticmethod
    def document_json(record: FileRecord) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
        }
        if record.file_name:
            doc["file_name"] = record.file_name
        if record.mime_type:
            doc["mime_type"] = record.mime_type
        return doc

    @staticmethod
    def file_json(record: FileRecord) -> dict[str, Any]:
        """The File object getFile returns."""
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
            "file_path": record.file_path,
        }
