"""The conversation on a ticket: public replies and internal notes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.db import Base
from helpdesk.identity.models import User, str_enum
from helpdesk.tickets.models import Channel


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class TicketMessage(Base):
    __tablename__ = "ticket_messages"
    __table_args__ = (Index("ix_ticket_messages_ticket_created", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.PORTAL)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    author: Mapped[User | None] = relationship(lazy="raise")
