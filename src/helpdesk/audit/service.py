"""Recording ticket events: the audit row and its outbox announcement are written together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from helpdesk.audit.models import AdminChange, TicketEvent
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


def record_admin_change(
    session: Session,
    *,
    actor_id: int | None,
    entity: str,
    entity_id: str | int,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> AdminChange:
    """Write one admin audit log row in the caller's transaction (configuration is data)."""
    change = AdminChange(
        actor_id=actor_id,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        before=before,
        after=after,
        at=at,
    )
    session.add(change)
    return change
