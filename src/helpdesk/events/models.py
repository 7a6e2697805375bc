"""The transactional outbox: written in the same transaction as the change it announces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(60))
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")


class ProcessedMessage(Base):
    """Written in the consumer's own transaction: its presence means "this effect happened"."""

    __tablename__ = "processed_messages"

    consumer: Mapped[str] = mapped_column(String(80), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (Index("ix_processed_messages_processed_at", "processed_at"),)


class DeadLetter(Base):
    """A message whose last retry failed, kept until an operator replays it (`helpdesk dlq`)."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_open", "id", postgresql_where=text("replayed_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor_name: Mapped[str] = mapped_column(String(80))
    queue_name: Mapped[str] = mapped_column(String(80))
    message_id: Mapped[str] = mapped_column(String(80))
    message: Mapped[dict[str, Any]] = mapped_column(JSONB)
    error: Mapped[str] = mapped_column(Text, default="")
    failed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    replayed_at: Mapped[datetime | None] = mapped_column(default=None)


class SchedulerJob(Base):
    """When each periodic job of `helpdesk scheduler` last ran, and how it went."""

    __tablename__ = "scheduler_jobs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(default=None)
    last_finished_at: Mapped[datetime | None] = mapped_column(default=None)
    last_ok_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    runs: Mapped[int] = mapped_column(default=0, server_default="0")
