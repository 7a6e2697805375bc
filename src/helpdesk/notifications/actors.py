"""Dramatiq actors of the notifications module (imported by helpdesk.workers).

notifications.plan  consumes ticket events: writes the queued deliveries in its transaction,
                    and after that commit enqueues one notifications.send per new delivery.
notifications.send  sends one delivery, from the "deliveries" queue (idempotent; raises on
                    transport errors so Dramatiq retries with backoff). After the last retry
                    Dramatiq sends
                    notifications.dead, which marks the delivery dead, and the message itself
                    lands in the dead letters, where `helpdesk dlq replay` picks it up again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from helpdesk.db import transaction
from helpdesk.events.broker import Event, after_commit, consumer, task
from helpdesk.notifications import delivery, planning
from helpdesk.notifications.transports import transport_from_settings

QUEUE = "notifications"
# Sends have their own queue, and run before plans a worker has already fetched, so a mail goes
# out as soon as it is planned instead of waiting behind every event of a burst.
SEND_QUEUE = "deliveries"
DEAD_ACTOR = "notifications.dead"
# Extra message options for send tasks (tests shorten the retry schedule here).
SEND_OPTIONS: dict[str, Any] = {}


@consumer("notifications.plan", events=planning.PLANNED_EVENTS, queue=QUEUE)
def plan_notifications(db: Session, event: Event) -> None:
    created = planning.plan(db, event)
    if created:
        after_commit(db, lambda: enqueue_sends(created))


@task("notifications.send", queue=SEND_QUEUE, priority=-10)
def send_notification(delivery_id: int) -> None:
    transport = transport_from_settings()
    with transaction() as db:
        failure = delivery.deliver(db, delivery_id, transport=transport)
    # Raised after the commit, so the failed attempt stays recorded on the delivery.
    if failure is not None:
        raise delivery.DeliveryFailed(f"delivery {delivery_id}: {failure}") from failure


@task(DEAD_ACTOR, queue=SEND_QUEUE)
def delivery_dead(message: dict[str, Any], info: dict[str, Any]) -> None:
    args = message.get("args") or []
    if not args:
        return
    with transaction() as db:
        delivery.mark_dead(
            db,
            int(args[0]),
            f"Gave up after {int(info.get('retries', 0)) + 1} attempts; in the dead letters.",
        )


def enqueue_send(delivery_id: int) -> None:
    send_notification.send_with_options(args=(delivery_id,), on_retry_exhausted=DEAD_ACTOR, **SEND_OPTIONS)


def enqueue_sends(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        enqueue_send(delivery_id)
