"""Recording ticket events: the audit row and its outbox announcement are written together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from helpdesk.audit.models import TicketEvent
from helpdesk.events import outbox
from helpdesk.events.types import EventType


def record(
    session: Session,
    *,
    ticket_id: int,
    type: EventType,
    actor_id: int | None,
    at: datetime,
    data: dict[str, Any],
) -> TicketEvent:
    event = TicketEvent(ticket_id=ticket_id, type=type.value, actor_id=actor_id, data=data, at=at)
    session.add(event)
    session.flush()
    outbox.enqueue(
        session,
        type,
        {
            "event_id": event.id,
            "ticket_id": ticket_id,
            "actor_id": actor_id,
            "at": at.isoformat(),
            "data": data,
        },
        ticket_id=ticket_id,
    )
    return event
