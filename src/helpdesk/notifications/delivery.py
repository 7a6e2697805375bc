"""Sending one delivery, marking dead ones, and the sweep for deliveries whose send task was lost.

Sending locks the delivery row for the whole SMTP conversation: two send tasks for the same
delivery (a requeue, a dead-letter replay) run one after the other and the second finds it
sent. A failure is recorded on the row and returned, so the caller can commit that record and
then raise for Dramatiq to retry with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from helpdesk.clock import Clock, system_clock
from helpdesk.notifications import webhooks
from helpdesk.notifications.models import DeliveryStatus, NotificationDelivery, WebhookProvider
from helpdesk.notifications.planning import sender
from helpdesk.notifications.repository import NotificationRepository
from helpdesk.notifications.transports import OutgoingMail, Transport

log = logging.getLogger("helpdesk.notifications")
SWEEP_LIMIT = 500
WEBHOOK_CHANNELS = frozenset(p.value for p in WebhookProvider)


class DeliveryFailed(Exception):
    """The transport refused or could not be reached; Dramatiq retries the send task."""


def outgoing(delivery: NotificationDelivery) -> OutgoingMail:
    assert delivery.channel == "email"
    return OutgoingMail(
        sender=sender(),
        to=delivery.recipient_address,
        subject=delivery.subject,
        text=delivery.body_text,
        html=delivery.body_html,
        message_id=delivery.message_id,
        in_reply_to=delivery.in_reply_to,
        references=delivery.references,
        reply_to=delivery.reply_to,
    )


def deliver(
    session: Session, delivery_id: int, *, transport: Transport, clock: Clock = system_clock
) -> Exception | None:
    """Send the delivery unless it was sent already. Returns the transport's exception (after
    recording it on the row) or None."""
    delivery = NotificationRepository(session).lock_delivery(delivery_id)
    if delivery is None:
        log.warning("delivery %s does not exist; nothing to send", delivery_id)
        return None
    if delivery.status is DeliveryStatus.SENT:
        return None
    delivery.attempts += 1
    try:
        if delivery.channel in WEBHOOK_CHANNELS:
            unsendable = webhooks.send(session, delivery)
            if unsendable is not None:
                delivery.status = DeliveryStatus.DEAD
                delivery.last_error = unsendable
                return None
            used = delivery.channel
        else:
            transport.send(outgoing(delivery))
            used = transport.name
    except Exception as exc:  # any transport error is retried; the message says which
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        return exc
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = clock()
    delivery.transport = used
    delivery.last_error = None
    return None


def mark_dead(session: Session, delivery_id: int, reason: str) -> None:
    """Retries are exhausted: the message waits in the dead letters (`helpdesk dlq replay`)."""
    delivery = NotificationRepository(session).lock_delivery(delivery_id)
    if delivery is None or delivery.status is DeliveryStatus.SENT:
        return
    delivery.status = DeliveryStatus.DEAD
    previous = f" Last error: {delivery.last_error}" if delivery.last_error else ""
    delivery.last_error = (reason + previous)[:2000]


def requeue_stuck(
    session: Session,
    older_than: timedelta = timedelta(minutes=5),
    *,
    clock: Clock = system_clock,
    enqueue: Callable[[int], None] | None = None,
) -> list[int]:
    """Send the send task again for deliveries still queued (never tried) after older_than.

    The plan consumer enqueues send tasks after its commit; a crash in that gap, or a broker
    that lost its data, leaves rows queued. The scheduler runs this sweep periodically; a
    duplicate send task is harmless (the row lock and the sent status make it a no-op)."""
    if enqueue is None:
        from helpdesk.notifications.actors import enqueue_send

        enqueue = enqueue_send
    now = clock()
    stuck = NotificationRepository(session).stuck(now - older_than, limit=SWEEP_LIMIT)
    for delivery in stuck:
        delivery.enqueued_at = now
        enqueue(delivery.id)
    if stuck:
        log.info("requeued %d stuck deliveries", len(stuck))
    return [d.id for d in stuck]
