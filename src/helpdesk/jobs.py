"""What `helpdesk scheduler` runs, and how often (the one list of periodic jobs)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from helpdesk.events import outbox
from helpdesk.events.scheduler import Job
from helpdesk.identity import service as identity
from helpdesk.notifications import delivery, digests

OUTBOX_RETENTION = timedelta(days=7)
PROCESSED_RETENTION = timedelta(days=30)  # far longer than any redelivery of a message can take


def _requeue_stuck(db: Session, now: datetime) -> str | None:
    requeued = delivery.requeue_stuck(db, clock=lambda: now)
    return f"requeued {len(requeued)} stuck deliveries" if requeued else None


def _digests(db: Session, now: datetime) -> str | None:
    planned = digests.plan_due(db, now)
    return f"queued {len(planned)} backlog digests" if planned else None


def _sessions(db: Session, now: datetime) -> str | None:
    purged = identity.purge_expired_sessions(db, now)
    return f"deleted {purged} expired sessions" if purged else None


def _retention(db: Session, now: datetime) -> str | None:
    events = outbox.purge_published(db, now - OUTBOX_RETENTION)
    processed = outbox.purge_processed(db, now - PROCESSED_RETENTION)
    if not events and not processed:
        return None
    return f"deleted {events} published outbox rows and {processed} idempotency records"


JOBS: tuple[Job, ...] = (
    Job("notifications.requeue_stuck", timedelta(minutes=1), _requeue_stuck),
    Job("notifications.digests", timedelta(minutes=1), _digests),
    Job("identity.purge_sessions", timedelta(hours=1), _sessions),
    Job("events.retention", timedelta(hours=1), _retention),
)
