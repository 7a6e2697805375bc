"""All SQL of the messaging module."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from helpdesk.messaging.models import TicketMessage, Visibility


class MessageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def thread(self, ticket_id: int, *, include_internal: bool) -> list[TicketMessage]:
        """The conversation, oldest first. Internal notes are filtered here, in SQL, for requesters."""
        stmt = (
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket_id)
            .options(joinedload(TicketMessage.author))
            .order_by(TicketMessage.created_at, TicketMessage.id)
        )
        if not include_internal:
            stmt = stmt.where(TicketMessage.visibility == Visibility.PUBLIC)
        return list(self.session.scalars(stmt))
