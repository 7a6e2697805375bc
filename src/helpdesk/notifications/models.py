"""Notification tables: deliveries (one row per message), templates (data), user preferences,
team chat webhooks (Slack, Microsoft Teams) and daily digest subscriptions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.db import Base
from helpdesk.identity.models import Team, User, str_enum


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # planned, not tried yet
    SENT = "sent"
    FAILED = "failed"  # the last try failed; Dramatiq retries it with backoff
    DEAD = "dead"  # retries exhausted: in the dead letters until `helpdesk dlq replay`


class WebhookProvider(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"

    @property
    def label(self) -> str:
        return "Slack" if self is WebhookProvider.SLACK else "Microsoft Teams"


class TeamWebhook(Base):
    """An incoming-webhook URL of a team's chat channel and the events posted to it. The URL
    is a credential (anyone holding it can post to the channel): never logged, shown masked."""

    __tablename__ = "team_webhooks"
    __table_args__ = (
        Index("ix_team_webhooks_team_id", "team_id"),
        CheckConstraint("min_priority BETWEEN 1 AND 4", name="min_priority_range"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    provider: Mapped[WebhookProvider] = mapped_column(str_enum(WebhookProvider))
    name: Mapped[str] = mapped_column(String(80))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    min_priority: Mapped[int] = mapped_column(SmallInteger, default=4, server_default="4")
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    team: Mapped[Team] = relationship(lazy="raise")


class DigestSubscription(Base):
    """A lead who asked for the daily backlog digest, and when it should arrive."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (CheckConstraint("hour BETWEEN 0 AND 23", name="hour_range"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, default=7)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class NotificationDelivery(Base):
    """One message to one recipient: a mail to a person for an event, a post to a team's chat
    webhook for an event, or a lead's daily digest. Unique keys make planning idempotent —
    (event, recipient, channel), (event, webhook) and (recipient, kind, digest day): an event
    processed twice, or two schedulers planning the same morning, never queue a second one."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", "channel"),
        Index(
            "uq_notification_deliveries_webhook",
            "event_id",
            "webhook_id",
            unique=True,
            postgresql_where=text("webhook_id IS NOT NULL"),
        ),
        Index(
            "uq_notification_deliveries_digest",
            "recipient_id",
            "kind",
            "digest_date",
            unique=True,
            postgresql_where=text("digest_date IS NOT NULL"),
        ),
        CheckConstraint("channel <> 'email' OR recipient_id IS NOT NULL", name="email_has_recipient"),
        Index("ix_notification_deliveries_created", "created_at", "id"),
        Index("ix_notification_deliveries_ticket_id", "ticket_id"),
        Index("ix_notification_deliveries_queued", "enqueued_at", postgresql_where=text("status = 'queued'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger)  # the outbox id; None for digests
    event_type: Mapped[str] = mapped_column(String(60))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20), default="email", server_default="email")
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("team_webhooks.id", ondelete="SET NULL"), default=None
    )
    digest_date: Mapped[date | None] = mapped_column(default=None)
    recipient_address: Mapped[str] = mapped_column(String(320))  # for webhooks: "Slack · name"
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

    recipient: Mapped[User | None] = relationship(lazy="raise")


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
