"""All SQL of the audit module."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from helpdesk.audit.models import TicketEvent


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def ticket_events(self, ticket_id: int, types: Sequence[str] | None = None) -> list[TicketEvent]:
        stmt = (
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .options(joinedload(TicketEvent.actor))
            .order_by(TicketEvent.at, TicketEvent.id)
        )
        if types is not None:
            stmt = stmt.where(TicketEvent.type.in_(types))
        return list(self.session.scalars(stmt))
