"""Writing to the outbox. The publisher (issue: async backbone) moves rows to the broker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from helpdesk.events.models import OutboxMessage
from helpdesk.events.types import EventType

NOTIFY_CHANNEL = "helpdesk_outbox"


def enqueue(
    session: Session, event_type: EventType, payload: dict[str, Any], *, ticket_id: int | None
) -> None:
    session.add(OutboxMessage(event_type=event_type.value, payload=payload, ticket_id=ticket_id))
    # NOTIFY is transactional in Postgres: the publisher is woken only if this commits.
    session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
