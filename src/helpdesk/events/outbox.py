"""Writing to the outbox. The publisher (issue: async backbone) moves rows to the broker."""

from __future__ import annotations

from datetime import datetime
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


RETENTION_BATCH = 5000


def purge_published(db: Session, older_than: datetime) -> int:
    """Delete published outbox rows created before older_than, oldest first, one batch (the
    scheduler comes back for the rest). Unpublished rows are never deleted."""
    result = db.execute(
        text(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at IS NOT NULL "
            "AND created_at < :cutoff ORDER BY id LIMIT :n)"
        ),
        {"cutoff": older_than, "n": RETENTION_BATCH},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_processed(db: Session, older_than: datetime) -> int:
    """Forget idempotency records older than any redelivery can be (one batch)."""
    result = db.execute(
        text(
            "DELETE FROM processed_messages WHERE ctid IN (SELECT ctid FROM processed_messages "
            "WHERE processed_at < :cutoff LIMIT :n)"
        ),
        {"cutoff": older_than, "n": RETENTION_BATCH},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
