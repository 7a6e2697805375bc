"""The actors against real Postgres (committed data), real Redis and a real SMTP server.

The plan consumer and send task run as Dramatiq runs them; the end-to-end test runs a real
dramatiq.Worker: SMTP refused → retries with backoff → dead → `helpdesk dlq replay` with the
server back → sent exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dramatiq import Worker
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from helpdesk.cli import main as cli
from helpdesk.events.broker import get_broker
from helpdesk.events.models import DeadLetter
from helpdesk.events.types import EventType
from helpdesk.identity.models import Role
from helpdesk.messaging import service as messaging
from helpdesk.notifications import actors, delivery
from helpdesk.notifications.models import DeliveryStatus, NotificationDelivery
from helpdesk.notifications.tokens import parse_reply_token
from helpdesk.tickets.models import Ticket
from tests.factories import Factory
from tests.notifications.conftest import SmtpServer, environment, free_port, last_event, wait_for


def fresh(engine: Engine, delivery_id: int) -> NotificationDelivery:
    with Session(engine) as s:
        row = s.get(NotificationDelivery, delivery_id)
        assert row is not None
        s.expunge(row)
        return row


def new_ticket(committed: Session) -> tuple[Ticket, Any]:
    factory = Factory(committed)
    team = factory.team()
    requester = factory.user(name="Erin Employee")
    agent = factory.user(Role.AGENT, [team], name="Ian Agent")
    ticket = factory.ticket(requester, team=team, subject="Printer on fire")
    committed.commit()
    return ticket, (requester, agent)


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> list[tuple[int, bool]]:
    """Send tasks the plan consumer enqueued: (delivery id, was its row committed by then)."""
    seen: list[tuple[int, bool]] = []

    def capture(delivery_id: int) -> None:
        with Session(engine) as s:
            seen.append((delivery_id, s.get(NotificationDelivery, delivery_id) is not None))

    monkeypatch.setattr(actors, "enqueue_send", capture)
    return seen


def test_plan_consumer_takes_effect_once_and_enqueues_after_commit(
    committed: Session, engine: Engine, enqueued: list[tuple[int, bool]]
) -> None:
    ticket, _ = new_ticket(committed)
    event = last_event(committed, ticket.id, EventType.TICKET_CREATED)
    actors.plan_notifications.fn(event.outbox_id, event.type.value, event.payload)
    actors.plan_notifications.fn(event.outbox_id, event.type.value, event.payload)  # redelivered
    with Session(engine) as s:
        rows = s.scalars(
            select(NotificationDelivery).where(NotificationDelivery.event_id == event.outbox_id)
        ).all()
    assert len(rows) == 1
    assert enqueued == [(rows[0].id, True)]  # once, and only after its row was committed


def test_send_task_twice_sends_one_smtp_message_with_the_headers(
    committed: Session, engine: Engine, smtp: SmtpServer, enqueued: list[tuple[int, bool]]
) -> None:
    ticket, (requester, _) = new_ticket(committed)
    event = last_event(committed, ticket.id, EventType.TICKET_CREATED)
    actors.plan_notifications.fn(event.outbox_id, event.type.value, event.payload)
    [(delivery_id, _)] = enqueued
    with environment(SMTP_URL=smtp.url):
        actors.send_notification.fn(delivery_id)
        actors.send_notification.fn(delivery_id)
    assert len(smtp.inbox.messages) == 1
    msg = smtp.inbox.messages[0]
    row = fresh(engine, delivery_id)
    assert (row.status, row.attempts, row.transport) == (DeliveryStatus.SENT, 1, "smtp")
    assert row.sent_at is not None
    assert smtp.inbox.recipients == [[requester.email]]
    assert msg["To"] == requester.email
    assert msg["From"] == "Helpdesk <helpdesk@127.0.0.1>"
    assert msg["Subject"] == row.subject
    assert ticket.reference in msg["Subject"]
    assert msg["Message-ID"] == row.message_id == f"<hd-{ticket.number}-{delivery_id}@127.0.0.1>"
    assert msg["In-Reply-To"] == msg["References"] == f"<hd-{ticket.number}@127.0.0.1>"
    assert parse_reply_token(msg["Reply-To"]) == ticket.id
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert ticket.reference in plain.get_content()
    assert f"/portal/tickets/{ticket.number}" in html.get_content()


def test_threading_across_mails_of_one_ticket(
    committed: Session, engine: Engine, smtp: SmtpServer, enqueued: list[tuple[int, bool]]
) -> None:
    ticket, (requester, agent) = new_ticket(committed)
    messaging.add_message(committed, agent, ticket.id, "On my way.")
    committed.commit()
    for type in (EventType.TICKET_CREATED, EventType.MESSAGE_REPLIED):
        event = last_event(committed, ticket.id, type)
        actors.plan_notifications.fn(event.outbox_id, event.type.value, event.payload)
    with environment(SMTP_URL=smtp.url, MAIL_FROM="IT Service Desk <desk@example.com>"):
        for delivery_id, _ in enqueued:
            actors.send_notification.fn(delivery_id)
    first, second = smtp.inbox.to(requester.email)
    assert first["From"] == second["From"] == "IT Service Desk <desk@example.com>"
    assert first["Message-ID"] != second["Message-ID"]
    assert first["References"] == second["References"] == f"<hd-{ticket.number}@127.0.0.1>"
    body = second.get_body(("plain",))
    assert body is not None
    assert "On my way." in body.get_content()


def test_log_transport_keeps_the_mail_in_the_database(
    committed: Session, engine: Engine, enqueued: list[tuple[int, bool]]
) -> None:
    ticket, _ = new_ticket(committed)
    event = last_event(committed, ticket.id, EventType.TICKET_CREATED)
    actors.plan_notifications.fn(event.outbox_id, event.type.value, event.payload)
    [(delivery_id, _)] = enqueued
    with environment(SMTP_URL=None):
        actors.send_notification.fn(delivery_id)
    row = fresh(engine, delivery_id)
    assert (row.status, row.transport) == (DeliveryStatus.SENT, "log")
    assert ticket.reference in row.body_text


def test_requeue_stuck_resends_queued_deliveries_only(
    committed: Session, engine: Engine, enqueued: list[tuple[int, bool]], capsys: pytest.CaptureFixture[str]
) -> None:
    ticket, _ = new_ticket(committed)
    event = last_event(committed, ticket.id, EventType.TICKET_CREATED)
    actors.plan_notifications.fn(event.outbox_id, event.type.value, event.payload)
    [(delivery_id, _)] = enqueued
    enqueued.clear()
    assert cli(["notifications", "requeue", "--older-than", "0"]) == 0  # the operator's sweep
    assert enqueued == [(delivery_id, True)]
    assert "requeued 1 stuck deliveries" in capsys.readouterr().out
    enqueued.clear()
    now = datetime.now(UTC) + timedelta(seconds=1)
    with Session(engine) as s, s.begin():
        assert delivery.requeue_stuck(s, timedelta(minutes=5), clock=lambda: now) == []  # too young
    later = now + timedelta(minutes=6)
    with Session(engine) as s, s.begin():
        assert delivery.requeue_stuck(s, timedelta(minutes=5), clock=lambda: later) == [delivery_id]
    assert enqueued == [(delivery_id, True)]
    with Session(engine) as s, s.begin():  # just requeued: not again until it is stuck again
        assert delivery.requeue_stuck(s, timedelta(minutes=5), clock=lambda: later) == []
    with environment(SMTP_URL=None):
        actors.send_notification.fn(delivery_id)
    with Session(engine) as s, s.begin():
        assert delivery.requeue_stuck(s, timedelta(0), clock=lambda: later + timedelta(hours=1)) == []


# --- a real worker ------------------------------------------------------------------------


def test_smtp_down_retries_then_dead_then_replay_sends_exactly_once(
    committed: Session, engine: Engine, worker: Worker, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens here yet: connection refused
    ticket, (requester, _) = new_ticket(committed)
    event = last_event(committed, ticket.id, EventType.TICKET_CREATED)
    server = SmtpServer(port)
    try:
        with environment(SMTP_URL=server.url):
            actors.plan_notifications.send(event.outbox_id, event.type.value, event.payload)

            def planned() -> list[NotificationDelivery]:
                with Session(engine) as s:
                    return list(s.scalars(select(NotificationDelivery)))

            wait_for(lambda: len(planned()) == 1)
            delivery_id = planned()[0].id
            wait_for(lambda: fresh(engine, delivery_id).status is DeliveryStatus.DEAD)
            dead = fresh(engine, delivery_id)
            assert dead.attempts == 3
            assert dead.last_error is not None
            assert "ConnectionRefusedError" in dead.last_error

            def letters() -> list[DeadLetter]:
                with Session(engine) as s:
                    return list(
                        s.scalars(select(DeadLetter).where(DeadLetter.actor_name == "notifications.send"))
                    )

            wait_for(lambda: len(letters()) == 1)
            assert letters()[0].message["args"] == [delivery_id]

            server.start()  # SMTP is back
            assert cli(["dlq", "replay", "--all"]) == 0
            assert "replayed 1 dead letter" in capsys.readouterr().out
            wait_for(lambda: fresh(engine, delivery_id).status is DeliveryStatus.SENT)
            worker.join()
            actors.enqueue_send(delivery_id)  # a stray duplicate (e.g. the stuck sweep) changes nothing
            get_broker().join(actors.SEND_QUEUE, timeout=10_000)
            worker.join()
            sent = fresh(engine, delivery_id)
            assert (sent.attempts, sent.last_error, sent.transport) == (4, None, "smtp")
            assert len(server.inbox.messages) == 1
            assert server.inbox.messages[0]["Message-ID"] == sent.message_id
            assert server.inbox.recipients == [[requester.email]]
    finally:
        server.stop()
