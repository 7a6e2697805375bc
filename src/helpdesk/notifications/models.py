"""Notification tables: deliveries (one row per mail), templates (data), user preferences."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.db import Base
from helpdesk.identity.models import User, str_enum


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # planned, not tried yet
    SENT = "sent"
    FAILED = "failed"  # the last try failed; Dramatiq retries it with backoff
    DEAD = "dead"  # retries exhausted: in the dead letters until `helpdesk dlq replay`


class NotificationDelivery(Base):
    """One message to one recipient for one event. The unique key (event_id, recipient_id,
    channel) makes planning idempotent: a re-processed event never queues a second mail."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", "channel"),
        Index("ix_notification_deliveries_created", "created_at", "id"),
        Index("ix_notification_deliveries_ticket_id", "ticket_id"),
        Index("ix_notification_deliveries_queued", "enqueued_at", postgresql_where=text("status = 'queued'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)  # the outbox id of the event
    event_type: Mapped[str] = mapped_column(String(60))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20), default="email", server_default="email")
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recipient_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(255), default=None)
    references: Mapped[str | None] = mapped_column(Text, default=None)
    reply_to: Mapped[str | None] = mapped_column(String(320), default=None)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus), default=DeliveryStatus.QUEUED)
    transport: Mapped[str | None] = mapped_column(String(20), default=None)  # which one sent it
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime]
    enqueued_at: Mapped[datetime]  # last time a send task was sent for it (see requeue_stuck)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    recipient: Mapped[User] = relationship(lazy="raise")


class NotificationTemplate(Base):
    """The editable text of one kind of mail (Jinja, rendered in a sandbox)."""

    __tablename__ = "notification_templates"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    updated_by: Mapped[User | None] = relationship(lazy="raise")


class NotificationPreference(Base):
    """A user's choice for one kind; no row means the default (enabled)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool]
