"""Dramatiq on Redis: the broker, the one way to declare an actor, and who listens to what.

Every consumer of a ticket event is declared with `consumer(...)`. Its body runs in its own
database transaction that also records (consumer, outbox id) in processed_messages, so a
message delivered twice (publisher crash, worker crash, redelivery) takes effect once.
Retries back off exponentially; after the last one the message is kept in dead_letters
(`helpdesk dlq list|replay`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import text
from sqlalchemy.orm import Session

from helpdesk.config import get_settings
from helpdesk.db import transaction
from helpdesk.events.types import EventType

MAX_RETRIES = 8
MIN_BACKOFF_MS = 500
MAX_BACKOFF_MS = 5 * 60_000
TIME_LIMIT_MS = 60_000
HEARTBEAT_TIMEOUT_MS = 15_000
MAINTENANCE_CHANCE = 50_000  # out of dramatiq's 1,000,000: 1 broker call in 20


@dataclass(frozen=True)
class Event:
    outbox_id: int
    type: EventType
    payload: dict[str, Any]

    @property
    def ticket_id(self) -> int | None:
        value = self.payload.get("ticket_id")
        return int(value) if value is not None else None

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.payload.get("data", {})
        return data


ConsumerFn = Callable[[Session, Event], None]
SUBSCRIBERS: dict[str, list[dramatiq.Actor[Any, Any]]] = defaultdict(list)
_broker: RedisBroker | None = None


def get_broker() -> RedisBroker:
    global _broker
    if _broker is None:
        from helpdesk.events.deadletters import DeadLetters
        from helpdesk.events.metrics import FailureCounter

        # A killed worker's unacknowledged messages go back to the queue once its heartbeat is
        # HEARTBEAT_TIMEOUT_MS old. Dramatiq runs that check on MAINTENANCE_CHANCE calls in a million
        # (20 here once, meant as 1 in 20, left a killed worker's messages stranded for about an hour).
        _broker = RedisBroker(  # type: ignore[no-untyped-call]  # dramatiq leaves __init__ unannotated
            url=get_settings().redis_url,
            namespace=get_settings().redis_namespace,
            heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=MAINTENANCE_CHANCE,
        )
        _broker.add_middleware(DeadLetters())
        _broker.add_middleware(FailureCounter())
        dramatiq.set_broker(_broker)
    return _broker


def claim(db: Session, consumer_name: str, message_id: str) -> bool:
    """True the first time; False if this consumer already took effect for this message."""
    row = db.execute(
        text(
            "INSERT INTO processed_messages (consumer, message_id) VALUES (:c, :m) "
            "ON CONFLICT DO NOTHING RETURNING 1"
        ),
        {"c": consumer_name, "m": message_id},
    ).first()
    return row is not None


def task(
    name: str, *, queue: str = "default", max_retries: int = MAX_RETRIES, priority: int = 0
) -> Callable[..., Any]:
    """A plain actor with the project's retry policy (for work that is not an event consumer).
    priority: among messages a worker has fetched, lower runs first."""

    def decorate(fn: Callable[..., None]) -> dramatiq.Actor[Any, Any]:
        declare = dramatiq.actor(
            actor_name=name,
            queue_name=queue,
            max_retries=max_retries,
            min_backoff=MIN_BACKOFF_MS,
            max_backoff=MAX_BACKOFF_MS,
            time_limit=TIME_LIMIT_MS,
            priority=priority,
            broker=get_broker(),
        )
        return declare(fn)

    return decorate


AFTER_COMMIT = "helpdesk.after_commit"


def after_commit(db: Session, hook: Callable[[], None]) -> None:
    """Run hook once the consumer's transaction has committed, e.g. to enqueue follow-up work
    that must see the rows just written. A crash in between skips it: pair it with a sweep."""
    db.info.setdefault(AFTER_COMMIT, []).append(hook)


def take_after_commit(db: Session) -> list[Callable[[], None]]:
    """The hooks registered on this session, for whoever commits it to run afterwards."""
    hooks: list[Callable[[], None]] = db.info.pop(AFTER_COMMIT, [])
    return hooks


def consumer(
    name: str,
    *,
    events: Iterable[EventType],
    queue: str = "default",
    max_retries: int = MAX_RETRIES,
    priority: int = 0,
) -> Callable[[ConsumerFn], dramatiq.Actor[Any, Any]]:
    """Subscribe fn(db, event) to event types, idempotently (see the module docstring)."""

    def decorate(fn: ConsumerFn) -> dramatiq.Actor[Any, Any]:
        def run(outbox_id: int, event_type: str, payload: dict[str, Any]) -> None:
            with transaction() as db:
                if not claim(db, name, str(outbox_id)):
                    return
                fn(db, Event(outbox_id, EventType(event_type), payload))
                hooks = take_after_commit(db)
            for hook in hooks:
                hook()

        run.__name__ = fn.__name__
        actor: dramatiq.Actor[Any, Any] = task(name, queue=queue, max_retries=max_retries, priority=priority)(
            run
        )
        for event_type in events:
            SUBSCRIBERS[event_type.value].append(actor)
        return actor

    return decorate
