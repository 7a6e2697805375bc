"""The outbox publisher: moves committed outbox rows to the broker.

Rows are claimed with FOR UPDATE SKIP LOCKED, so several publishers share the work and never
send the same row concurrently. A row is marked published in the same transaction that claimed
it, after its messages were handed to Redis: a crash in between leaves the row unpublished and
it is sent again, which the idempotent consumers absorb. Nothing is lost; nothing takes effect
twice.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.clock import Clock, system_clock
from helpdesk.db import raw_connection, transaction
from helpdesk.events.broker import SUBSCRIBERS
from helpdesk.events.models import OutboxMessage
from helpdesk.events.outbox import NOTIFY_CHANNEL
from helpdesk.events.signals import stop_on_signals

log = logging.getLogger("helpdesk.publisher")
BATCH = 200
POLL_SECONDS = 2.0


def publish_batch(db: Session, *, limit: int = BATCH, clock: Clock = system_clock) -> int:
    """Send one batch; returns how many outbox rows it published."""
    rows = list(
        db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.published_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    now = clock()
    for row in rows:
        for actor in SUBSCRIBERS.get(row.event_type, ()):
            actor.send(row.id, row.event_type, row.payload)
        row.published_at = now
        row.attempts += 1
    return len(rows)


def drain(*, clock: Clock = system_clock) -> int:
    total = 0
    while True:
        with transaction() as db:
            sent = publish_batch(db, clock=clock)
        total += sent
        if sent < BATCH:
            return total


def _listen_connection() -> psycopg.Connection[tuple[object, ...]]:
    conn = raw_connection()
    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
    return conn


def run(stop: threading.Event | None = None) -> None:
    """Publish until stopped: woken by NOTIFY from committing writers, polling as a fallback."""
    import helpdesk.workers  # noqa: F401 - declares every consumer, so SUBSCRIBERS is complete

    stop = stop or threading.Event()

    stop_on_signals(stop)
    log.info("publisher started")
    conn: psycopg.Connection[tuple[object, ...]] | None = None
    while not stop.is_set():
        try:
            if conn is None or conn.closed:
                conn = _listen_connection()
            sent = drain()
            if sent:
                log.info("published %d outbox rows", sent)
            # Wake on the next NOTIFY, or poll after POLL_SECONDS in case a notification was missed.
            for _ in conn.notifies(timeout=POLL_SECONDS, stop_after=1):
                pass
        except (psycopg.OperationalError, OSError) as exc:
            log.warning("publisher lost a connection (%s); retrying", type(exc).__name__)
            conn = None
            stop.wait(1.0)
        except Exception:
            log.exception("publisher batch failed; retrying")
            stop.wait(1.0)
    if conn is not None:
        conn.close()
    log.info("publisher stopped")
