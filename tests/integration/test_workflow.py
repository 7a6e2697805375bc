"""Every allowed and every refused status transition, for agents and for requesters."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.audit.models import TicketEvent
from helpdesk.errors import InvalidTransition
from helpdesk.events.models import OutboxMessage
from helpdesk.identity.models import Role
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Status, Ticket
from tests.factories import Factory

STATUSES = [
    "new",
    "triaged",
    "assigned",
    "in_progress",
    "waiting_requester",
    "waiting_vendor",
    "resolved",
    "closed",
    "reopened",
]
WORKING = ["triaged", "assigned", "in_progress", "waiting_requester", "waiting_vendor", "resolved", "closed"]
# The expected workflow, written out independently of the migration that seeds it.
ALLOWED = {
    "new": set(WORKING),
    "triaged": set(WORKING) - {"triaged"},
    "assigned": {"triaged", "in_progress", "waiting_requester", "waiting_vendor", "resolved", "closed"},
    "in_progress": {"assigned", "waiting_requester", "waiting_vendor", "resolved", "closed"},
    "waiting_requester": {"in_progress", "resolved", "closed"},
    "waiting_vendor": {"in_progress", "resolved", "closed"},
    "resolved": {"closed", "reopened"},
    "closed": {"reopened"},
    "reopened": set(WORKING),
}
REQUESTER_ALLOWED = {(s, "closed") for s, targets in ALLOWED.items() if "closed" in targets} | {
    ("resolved", "reopened"),
    ("closed", "reopened"),
}


def _at_status(db: Session, ticket: Ticket, key: str) -> None:
    status = db.scalar(select(Status).where(Status.key == key))
    assert status is not None
    ticket.status_id = status.id
    db.flush()
    db.expire(ticket)


@pytest.mark.parametrize(("source", "target"), list(itertools.product(STATUSES, STATUSES)))
def test_agent_transition(db: Session, factory: Factory, source: str, target: str) -> None:
    team = factory.team()
    agent = factory.user(Role.AGENT, [team])
    ticket = factory.ticket(factory.user(), team=team)
    _at_status(db, ticket, source)
    events_before = db.scalar(select(TicketEvent.id).order_by(TicketEvent.id.desc()).limit(1))
    if target in ALLOWED[source]:
        moved = tickets.transition(db, agent, ticket.id, target)
        assert moved.status.key == target
        event = db.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id.desc())
        ).first()
        assert event is not None
        assert event.type == "ticket.status_changed"
        assert event.data["from"] == source
        assert event.data["to"] == target
        outbox = db.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).all()
        assert any(m.payload["event_id"] == event.id for m in outbox)
        if target in ("resolved", "closed"):
            assert moved.resolved_at is not None
    else:
        with pytest.raises(InvalidTransition) as err:
            tickets.transition(db, agent, ticket.id, target)
        assert "Allowed:" in err.value.detail
        for allowed in ALLOWED[source]:
            name = db.scalar(select(Status.name).where(Status.key == allowed))
            assert name is not None
            assert name in err.value.detail
        latest = db.scalar(select(TicketEvent.id).order_by(TicketEvent.id.desc()).limit(1))
        assert latest == events_before  # nothing half-written


@pytest.mark.parametrize(
    ("source", "target"), list(itertools.product(STATUSES, ["closed", "reopened", "resolved"]))
)
def test_requester_transition(db: Session, factory: Factory, source: str, target: str) -> None:
    team = factory.team()
    requester = factory.user()
    ticket = factory.ticket(requester, team=team)
    _at_status(db, ticket, source)
    if (source, target) in REQUESTER_ALLOWED:
        assert tickets.transition(db, requester, ticket.id, target).status.key == target
    else:
        with pytest.raises(InvalidTransition):
            tickets.transition(db, requester, ticket.id, target)


def test_unknown_status_is_a_validation_error(db: Session, factory: Factory) -> None:
    from helpdesk.errors import ValidationFailed

    team = factory.team()
    agent = factory.user(Role.AGENT, [team])
    ticket = factory.ticket(factory.user(), team=team)
    with pytest.raises(ValidationFailed):
        tickets.transition(db, agent, ticket.id, "teleported")
