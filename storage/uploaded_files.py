"""Files a bot already uploaded to its messenger, by name and content, with the id to resend them.

Telegram answers an upload with a `file_id` that the same bot may send again instead of the
bytes; the bundled help pictures are shown on nearly every registration, so each is uploaded
once per bot and then sent by id. Ids are per bot, hence the `bot_key`; a picture whose bytes
change (regenerated assets) has another `content_sha256` and is uploaded afresh. This module
stores names and opaque ids only: what an id is and when it is refused is the bot's business.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

__all__ = ["UploadedFile", "known_uploads", "remember_upload"]


class UploadedFile(Base):
    """One file one bot uploaded: the messenger's id for it, per (bot, name); `content_sha256`
    says which bytes the id stands for."""

    __tablename__ = "uploaded_files"

    bot_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. the bot's user id
    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. "serial_laptop.png"
    content_sha256: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str] = mapped_column(String(255))
    uploaded_at: Mapped[datetime]


async def known_uploads(session: AsyncSession, bot_key: str) -> dict[str, tuple[str, str]]:
    """Every upload of this bot: name -> (content sha256, file id); read once per process."""
    rows = await session.execute(
        select(UploadedFile.name, UploadedFile.content_sha256, UploadedFile.file_id).where(
            UploadedFile.bot_key == bot_key
        )
    )
    return {name: (sha, file_id) for name, sha, file_id in rows.tuples()}


async def remember_upload(
    session: AsyncSession, bot_key: str, name: str, content_sha256: str, file_id: str, now: datetime
) -> None:
    """Records (or replaces: a refused id, new bytes) the id of an upload, in one statement, so two
    processes that uploaded the same picture at once both succeed; the later id wins."""
    values = {"content_sha256": content_sha256, "file_id": file_id, "uploaded_at": now}
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = insert(UploadedFile).values(bot_key=bot_key, name=name, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["bot_key", "name"], set_=values))
