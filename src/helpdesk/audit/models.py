"""The immutable ticket event stream (a database trigger refuses UPDATE and DELETE)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.db import Base
from helpdesk.identity.models import User


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_at", "ticket_id", "at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    type: Mapped[str] = mapped_column(String(60))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    at: Mapped[datetime]

    actor: Mapped[User | None] = relationship(lazy="raise")


class AdminChange(Base):
    """The admin audit log: every change to configuration data (templates, teams, rules, ...),
    with the row before and after (ARCHITECTURE rule 6)."""

    __tablename__ = "admin_changes"
    __table_args__ = (
        Index("ix_admin_changes_entity", "entity", "entity_id", "at"),
        Index("ix_admin_changes_at", "at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(20))  # create | update | delete | reset
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    at: Mapped[datetime]

    actor: Mapped[User | None] = relationship(lazy="raise")
