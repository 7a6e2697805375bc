"""Outbox → publisher → Redis → idempotent consumers → dead letters, with real Postgres and Redis.

These tests commit (the publisher and workers use their own connections), so they write only
outbox rows of their own and remove what they wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import redis
from sqlalchemy import Engine, delete, func, select, text

from helpdesk.config import get_settings
from helpdesk.db import transaction
from helpdesk.events import deadletters, publisher
from helpdesk.events.broker import Event, consumer, get_broker
from helpdesk.events.models import DeadLetter, OutboxMessage, ProcessedMessage
from helpdesk.events.types import EventType

CALLS: list[int] = []
FRAGILE = {"fail": True}


@consumer("test.echo", events=[EventType.TICKET_UPDATED])
def echo(db: Any, event: Event) -> None:
    CALLS.append(event.outbox_id)


@consumer("test.fragile", events=[EventType.TICKET_UNSHARED], max_retries=1)
def fragile(db: Any, event: Event) -> None:
    if FRAGILE["fail"]:
        raise RuntimeError("downstream is down")
    CALLS.append(event.outbox_id)


def _queue_keys() -> list[str]:
    ns = get_settings().redis_namespace
    return [f"{ns}:default", f"{ns}:default.DQ", f"{ns}:default.msgs", f"{ns}:default.DQ.msgs"]


@pytest.fixture
def backbone(engine: Engine) -> Iterator[list[int]]:
    """Committed outbox rows for the test; everything they caused is removed afterwards."""
    client = redis.Redis.from_url(get_settings().redis_url)
    client.delete(*_queue_keys())
    CALLS.clear()
    FRAGILE["fail"] = True
    created: list[int] = []
    yield created
    with transaction() as db:
        db.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(created)))
        db.execute(delete(ProcessedMessage).where(ProcessedMessage.consumer.like("test.%")))
        db.execute(delete(DeadLetter).where(DeadLetter.actor_name.like("test.%")))
        # other tests' consumers must not see these rows later
        db.execute(text("UPDATE outbox SET published_at = now() WHERE published_at IS NULL"))
    client.delete(*_queue_keys())
    client.close()


def _add_rows(created: list[int], event_type: EventType, count: int) -> list[int]:
    with transaction() as db:
        rows = [
            OutboxMessage(event_type=event_type.value, ticket_id=None, payload={"n": i}) for i in range(count)
        ]
        db.add_all(rows)
        db.flush()
        ids = [r.id for r in rows]
    created.extend(ids)
    return ids


def _messages_for(actor_name: str) -> list[dict[str, Any]]:
    import json

    client = redis.Redis.from_url(get_settings().redis_url)
    ns = get_settings().redis_namespace
    raw = client.hgetall(f"{ns}:default.msgs")
    client.close()
    return [m for m in (json.loads(v) for v in raw.values()) if m["actor_name"] == actor_name]


def _run_worker(timeout_ms: int = 20_000) -> None:
    broker = get_broker()
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        broker.join("default", timeout=timeout_ms)
    finally:
        worker.stop()


def test_publisher_sends_each_row_once_and_marks_it(backbone: list[int]) -> None:
    ids = _add_rows(backbone, EventType.TICKET_UPDATED, 5)
    assert publisher.drain() >= 5
    assert sorted(m["args"][0] for m in _messages_for("test.echo")) == ids
    assert publisher.drain() == 0
    with transaction() as db:
        published = db.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.published_at.is_not(None))
        )
    assert published == 5


def test_two_publishers_never_send_a_row_twice(backbone: list[int]) -> None:
    ids = _add_rows(backbone, EventType.TICKET_UPDATED, 600)
    threads = [threading.Thread(target=publisher.drain) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    sent = [m["args"][0] for m in _messages_for("test.echo")]
    assert sorted(sent) == ids  # every row exactly once


def test_a_publisher_crash_after_sending_redelivers_but_effects_happen_once(backbone: list[int]) -> None:
    ids = _add_rows(backbone, EventType.TICKET_UPDATED, 20)

    class Crash(Exception):
        pass

    def publish_then_die() -> None:
        with transaction() as db:
            publisher.publish_batch(db)
            raise Crash

    # Sent to Redis, then the process "dies" before marking the rows published.
    with pytest.raises(Crash):
        publish_then_die()
    assert publisher.drain() >= 20  # the next publisher sends them again
    assert len(_messages_for("test.echo")) == 40
    _run_worker()
    assert sorted(CALLS) == ids  # each took effect once
    with transaction() as db:
        claimed = db.scalar(
            select(func.count()).select_from(ProcessedMessage).where(ProcessedMessage.consumer == "test.echo")
        )
    assert claimed == 20


def test_failing_consumer_is_dead_lettered_and_replayed(backbone: list[int]) -> None:
    (row_id,) = _add_rows(backbone, EventType.TICKET_UNSHARED, 1)
    publisher.drain()
    _run_worker()
    assert CALLS == []
    with transaction() as db:
        letters = [d for d in deadletters.open_letters(db) if d.actor_name == "test.fragile"]
        assert len(letters) == 1
        assert "downstream is down" in letters[0].error
        letter_id = letters[0].id
    FRAGILE["fail"] = False
    with transaction() as db:
        replayed = deadletters.replay(db, letter_id)
    assert [d.id for d in replayed] == [letter_id]
    _run_worker()
    assert [row_id] == CALLS
    with transaction() as db:
        assert not [d for d in deadletters.open_letters(db) if d.actor_name == "test.fragile"]


def test_metrics_report_the_backlog(backbone: list[int], engine: Engine) -> None:
    from prometheus_client import generate_latest

    from helpdesk.events import metrics

    metrics.register()
    _add_rows(backbone, EventType.TICKET_UPDATED, 3)
    body = generate_latest().decode()
    backlog = next(line for line in body.splitlines() if line.startswith("helpdesk_outbox_backlog "))
    assert float(backlog.split()[1]) >= 3
    assert 'helpdesk_queue_depth{queue="default"}' in body
    assert "helpdesk_dead_letters" in body
