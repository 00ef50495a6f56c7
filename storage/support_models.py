"""Tables of support conversations and of staff prompts (registered on storage.models' Base).

A customer has one `SupportThread`; every message either way is a `SupportMessage`. Where the
thread lives in the staff chat is kept as plain ids: the forum topic's id when the staff group
has topics, and, per message, the staff-chat message a customer's message was posted as (a
staff reply to it is a reply to the customer). Photos are kept as the messenger's file id, so
they are passed on without being downloaded. A `StaffPrompt` is a question the bot asked staff
to answer by replying (the reason of a rejection), so the reply is known for what it answers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

__all__ = ["StaffPrompt", "SupportMessage", "SupportThread"]


class SupportThread(Base):
    """A customer's conversation with staff; `topic_id` is its forum topic in the staff chat."""

    __tablename__ = "support_threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), unique=True)
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SupportMessage(Base):
    """One message of a thread: from the customer ("in") or from staff ("out")."""

    __tablename__ = "support_messages"
    __table_args__ = (Index("ix_support_messages_staff_message", "staff_chat_id", "staff_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("support_threads.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    direction: Mapped[str] = mapped_column(String(3))  # "in" (customer) | "out" (staff)
    author_user_id: Mapped[int | None] = mapped_column(BigInteger)
    author_name: Mapped[str | None] = mapped_column(String(120))
    text: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(24))  # why the customer wrote (see storage.support.Subject)
    serial: Mapped[str | None] = mapped_column(String(40))
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)  # where a customer's message was posted
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger)
    resolved_at: Mapped[datetime | None]


class StaffPrompt(Base):
    """A message asking staff to reply (ForceReply): which claim and attempt it is about."""

    __tablename__ = "staff_prompts"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(24))  # "reject_reason"
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    asked_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
