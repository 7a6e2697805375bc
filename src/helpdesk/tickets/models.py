"""Tickets, their workflow configuration (statuses, transitions, categories) and sharing."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    ForeignKey,
    Identity,
    Index,
    Sequence,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.db import Base, CreatedAt
from helpdesk.identity.models import Team, User, str_enum

TICKET_NUMBER_SEQ = Sequence("ticket_number_seq", start=1001)


class StatusCategory(StrEnum):
    """The fixed meaning behind admin-editable statuses; code branches only on this."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_active(self) -> bool:
        return self not in (StatusCategory.RESOLVED, StatusCategory.CLOSED)


class Priority(IntEnum):
    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4

    @property
    def label(self) -> str:
        return PRIORITY_LABELS[self]


PRIORITY_LABELS = {
    Priority.P1: "Critical",
    Priority.P2: "High",
    Priority.P3: "Normal",
    Priority.P4: "Low",
}


class Channel(StrEnum):
    PORTAL = "portal"
    EMAIL = "email"
    API = "api"


class SharePermission(StrEnum):
    READ = "read"
    WRITE = "write"


class Status(Base):
    __tablename__ = "statuses"

    id: Mapped[int] = mapped_column(SmallInteger, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    category: Mapped[StatusCategory] = mapped_column(str_enum(StatusCategory))
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")


class StatusTransition(Base):
    """One allowed move of the workflow. The table is the state machine."""

    __tablename__ = "status_transitions"

    from_status_id: Mapped[int] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    to_status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True)
    requester_allowed: Mapped[bool] = mapped_column(default=False, server_default="false")


class Category(Base, CreatedAt):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), default=None)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    guidance: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Template fields asked on the portal form: [{"name", "label", "type", "required", "options"}]
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    default_priority: Mapped[int] = mapped_column(SmallInteger, default=3, server_default="3")
    position: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")

    team: Mapped[Team] = relationship(lazy="raise")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority_range"),
        CheckConstraint("severity IS NULL OR severity BETWEEN 1 AND 4", name="severity_range"),
        # spec §9.2, with id last so keyset pagination over (updated_at, id) stays on the index
        Index(
            "ix_tickets_status_team_updated", "status_id", "team_id", text("updated_at DESC"), text("id DESC")
        ),
        Index(
            "ix_tickets_assignee_status_updated",
            "assignee_id",
            "status_id",
            text("updated_at DESC"),
            text("id DESC"),
        ),
        Index("ix_tickets_requester_created", "requester_id", text("created_at DESC"), text("id DESC")),
        Index("ix_tickets_team_updated", "team_id", text("updated_at DESC"), text("id DESC")),
        # "everything, newest activity first" (admins, search across teams) stops after one page
        Index("ix_tickets_updated", text("updated_at DESC"), text("id DESC")),
        Index("ix_tickets_requester_updated", "requester_id", text("updated_at DESC"), text("id DESC")),
        Index("ix_tickets_tags", "tags", postgresql_using="gin"),
        Index("ix_tickets_search", "search", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    number: Mapped[int] = mapped_column(
        BigInteger, TICKET_NUMBER_SEQ, server_default=TICKET_NUMBER_SEQ.next_value(), unique=True
    )
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), default=None)
    priority: Mapped[int] = mapped_column(SmallInteger, default=3)
    severity: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), default=None)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requester_department: Mapped[str | None] = mapped_column(String(120), default=None)
    requester_location: Mapped[str | None] = mapped_column(String(120), default=None)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.PORTAL)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list, server_default="{}")
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            "setweight(to_tsvector('simple', coalesce(subject, '')), 'A') || "
            "setweight(to_tsvector('simple', left(coalesce(description, ''), 20000)), 'B')",
            persisted=True,
        ),
        deferred=True,
    )

    status: Mapped[Status] = relationship(lazy="raise")
    team: Mapped[Team | None] = relationship(lazy="raise")
    assignee: Mapped[User | None] = relationship(lazy="raise", foreign_keys=[assignee_id])
    requester: Mapped[User] = relationship(lazy="raise", foreign_keys=[requester_id])
    category: Mapped[Category | None] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}

    @property
    def reference(self) -> str:
        return f"HD-{self.number}"


class TicketWatcher(Base, CreatedAt):
    __tablename__ = "ticket_watchers"
    __table_args__ = (Index("ix_ticket_watchers_user_id", "user_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)

    user: Mapped[User] = relationship(lazy="raise")


class TicketShare(Base, CreatedAt):
    """Collaboration without ownership: a team (read/write) or a person (read) may see the ticket."""

    __tablename__ = "ticket_shares"
    __table_args__ = (
        CheckConstraint("(team_id IS NULL) <> (user_id IS NULL)", name="one_target"),
        UniqueConstraint("ticket_id", "team_id"),
        UniqueConstraint("ticket_id", "user_id"),
        Index("ix_ticket_shares_team_id", "team_id", "ticket_id"),
        Index("ix_ticket_shares_user_id", "user_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), default=None)
    permission: Mapped[SharePermission] = mapped_column(
        str_enum(SharePermission), default=SharePermission.READ
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    team: Mapped[Team | None] = relationship(lazy="raise")
    user: Mapped[User | None] = relationship(lazy="raise", foreign_keys=[user_id])


class IdempotencyKey(Base, CreatedAt):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))


class SavedFilter(Base, CreatedAt):
    """A named backlog query; shared with a team when team_id is set."""

    __tablename__ = "saved_filters"
    __table_args__ = (
        Index("ix_saved_filters_user_id", "user_id"),
        Index("ix_saved_filters_team_id", "team_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), default=None)
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(1000))
