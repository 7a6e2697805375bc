"""Who gets which mail for each event (planning.plan over the events the services wrote)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.events.types import EventType
from helpdesk.identity.models import Role, Team
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging import service as messaging
from helpdesk.messaging.models import Visibility
from helpdesk.notifications import planning
from helpdesk.notifications import service as notifications
from helpdesk.notifications.models import DeliveryStatus, NotificationDelivery
from helpdesk.notifications.tokens import parse_reply_token
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Ticket
from tests.factories import Factory
from tests.notifications.conftest import last_event


@dataclass
class World:
    team: Team
    requester: Viewer
    agent: Viewer  # of the owning team; the assignee once assigned
    colleague: Viewer  # of the owning team; watches the ticket
    outsider: Viewer  # agent of another team
    admin: Viewer
    ticket: Ticket


@pytest.fixture
def world(db: Session, factory: Factory) -> World:
    team, other = factory.team(), factory.team()
    requester = factory.user(name="Erin Employee")
    agent = factory.user(Role.AGENT, [team], name="Ian Agent")
    colleague = factory.user(Role.AGENT, [team], name="Cleo Colleague")
    outsider = factory.user(Role.AGENT, [other], name="Otto Outsider")
    admin = factory.user(Role.ADMIN, name="Ada Admin")
    ticket = factory.ticket(requester, team=team, subject="VPN drops")
    return World(team, requester, agent, colleague, outsider, admin, ticket)


def plan(db: Session, ticket: Ticket, type: EventType) -> dict[int, str]:
    """recipient id → kind of the deliveries planned for the ticket's latest event of this type."""
    event = last_event(db, ticket.id, type)
    planning.plan(db, event)
    rows = db.scalars(select(NotificationDelivery).where(NotificationDelivery.event_id == event.outbox_id))
    return {d.recipient_id: d.kind for d in rows}


def test_created_acknowledges_the_requester_with_the_number(db: Session, world: World) -> None:
    got = plan(db, world.ticket, EventType.TICKET_CREATED)
    assert got == {world.requester.id: "request_received"}
    delivery = db.scalars(select(NotificationDelivery)).one()
    assert world.ticket.reference in delivery.subject
    assert world.ticket.reference in delivery.body_text
    assert f"/portal/tickets/{world.ticket.number}" in delivery.body_html
    assert delivery.status is DeliveryStatus.QUEUED
    assert delivery.recipient_address == world.requester.email


def test_created_on_behalf_by_an_agent_acknowledges_the_requester(
    db: Session, world: World, factory: Factory
) -> None:
    data = tickets.NewTicket(
        subject="Phone", description="Broken", team_id=world.team.id, requester_email=world.requester.email
    )
    ticket = tickets.create_ticket(db, world.agent, data).ticket
    assert plan(db, ticket, EventType.TICKET_CREATED) == {world.requester.id: "request_received"}


def test_assigned_notifies_the_new_assignee_but_not_who_assigned_themself(db: Session, world: World) -> None:
    tickets.assign(db, world.colleague, world.ticket.id, world.agent.id)
    assert plan(db, world.ticket, EventType.TICKET_ASSIGNED) == {world.agent.id: "ticket_assigned"}
    tickets.assign(db, world.colleague, world.ticket.id, world.colleague.id)
    assert plan(db, world.ticket, EventType.TICKET_ASSIGNED) == {}


def test_agent_reply_goes_to_the_requester_and_watchers_except_the_author(db: Session, world: World) -> None:
    tickets.assign(db, world.admin, world.ticket.id, world.agent.id)  # the assignee watches
    tickets.watch(db, world.colleague, world.ticket.id)
    messaging.add_message(db, world.agent, world.ticket.id, "Try the new profile.")
    got = plan(db, world.ticket, EventType.MESSAGE_REPLIED)
    assert got == {world.requester.id: "public_reply", world.colleague.id: "conversation_update"}
    mail = db.scalars(select(NotificationDelivery).where(NotificationDelivery.kind == "public_reply")).one()
    assert "Try the new profile." in mail.body_text
    assert "Try the new profile." in mail.body_html


def test_requester_reply_goes_to_assignee_and_watchers(db: Session, world: World) -> None:
    tickets.assign(db, world.admin, world.ticket.id, world.agent.id)
    tickets.watch(db, world.colleague, world.ticket.id)
    messaging.add_message(db, world.requester, world.ticket.id, "Still broken <b>today</b>.")
    got = plan(db, world.ticket, EventType.MESSAGE_REPLIED)
    assert got == {world.agent.id: "conversation_update", world.colleague.id: "conversation_update"}
    mail = db.scalars(select(NotificationDelivery).where(NotificationDelivery.recipient_id == world.agent.id))
    html = next(iter(mail)).body_html
    assert "&lt;b&gt;today&lt;/b&gt;" in html  # user text is escaped in HTML mail
    assert f"/console/tickets/{world.ticket.number}" in html


@pytest.mark.parametrize(
    ("to", "kind"), [("waiting_requester", "waiting_on_you"), ("resolved", "request_resolved")]
)
def test_status_changes_the_requester_must_know(db: Session, world: World, to: str, kind: str) -> None:
    tickets.transition(db, world.agent, world.ticket.id, to)
    assert plan(db, world.ticket, EventType.TICKET_STATUS_CHANGED) == {world.requester.id: kind}


def test_reopened_by_the_requester_notifies_the_assignee(db: Session, world: World) -> None:
    tickets.assign(db, world.admin, world.ticket.id, world.agent.id)
    tickets.transition(db, world.agent, world.ticket.id, "resolved")
    tickets.transition(db, world.requester, world.ticket.id, "reopened")
    assert plan(db, world.ticket, EventType.TICKET_STATUS_CHANGED) == {world.agent.id: "ticket_reopened"}


def test_other_status_changes_send_nothing(db: Session, world: World) -> None:
    tickets.transition(db, world.agent, world.ticket.id, "in_progress")
    assert plan(db, world.ticket, EventType.TICKET_STATUS_CHANGED) == {}


def test_internal_notes_reach_watching_agents_who_may_see_them_and_never_requesters(
    db: Session, world: World, factory: Factory
) -> None:
    shared_person = factory.user()
    tickets.share(db, world.admin, world.ticket.id, user_email=shared_person.email)
    tickets.watch(db, world.colleague, world.ticket.id)
    tickets.watch(db, world.admin, world.ticket.id, world.outsider.id)  # watches, cannot see the ticket
    tickets.watch(db, world.agent, world.ticket.id)
    messaging.add_message(db, world.agent, world.ticket.id, "Internal only", visibility=Visibility.INTERNAL)
    got = plan(db, world.ticket, EventType.NOTE_ADDED)
    assert got == {world.colleague.id: "internal_note"}
    bodies = [d.body_text for d in db.scalars(select(NotificationDelivery))]
    assert all("Internal only" not in b for b in bodies if world.requester.email in b)
    assert not db.scalars(
        select(NotificationDelivery).where(
            NotificationDelivery.recipient_id.in_([world.requester.id, shared_person.id, world.outsider.id])
        )
    ).first()


def test_public_replies_skip_people_who_lost_access(db: Session, world: World) -> None:
    tickets.watch(db, world.admin, world.ticket.id, world.outsider.id)
    messaging.add_message(db, world.requester, world.ticket.id, "Any news?")
    assert world.outsider.id not in plan(db, world.ticket, EventType.MESSAGE_REPLIED)


def test_preferences_turn_off_optional_mail_but_not_essential_mail(db: Session, world: World) -> None:
    notifications.save_preferences(db, world.requester, enabled=set())  # everything off
    assert plan(db, world.ticket, EventType.TICKET_CREATED) == {world.requester.id: "request_received"}
    messaging.add_message(db, world.agent, world.ticket.id, "Hello")
    assert plan(db, world.ticket, EventType.MESSAGE_REPLIED) == {}
    tickets.transition(db, world.agent, world.ticket.id, "waiting_requester")
    assert plan(db, world.ticket, EventType.TICKET_STATUS_CHANGED) == {world.requester.id: "waiting_on_you"}
    rows = {r.kind.key: r.enabled for r in notifications.preferences(db, world.requester)}
    assert rows == {
        "request_received": True,
        "public_reply": False,
        "waiting_on_you": True,
        "request_resolved": True,
    }
    notifications.save_preferences(db, world.requester, enabled={"public_reply"})
    messaging.add_message(db, world.agent, world.ticket.id, "Hello again")
    assert plan(db, world.ticket, EventType.MESSAGE_REPLIED) == {world.requester.id: "public_reply"}


def test_planning_an_event_twice_queues_one_mail_per_recipient(db: Session, world: World) -> None:
    event = last_event(db, world.ticket.id, EventType.TICKET_CREATED)
    first = planning.plan(db, event)
    second = planning.plan(db, event)
    assert len(first) == 1
    assert second == []
    assert len(db.scalars(select(NotificationDelivery)).all()) == 1


def test_headers_thread_the_ticket_and_carry_its_reply_token(db: Session, world: World) -> None:
    messaging.add_message(db, world.agent, world.ticket.id, "One")
    plan(db, world.ticket, EventType.TICKET_CREATED)
    plan(db, world.ticket, EventType.MESSAGE_REPLIED)
    mails = db.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)).all()
    assert len(mails) == 2
    n = world.ticket.number
    for mail in mails:
        assert mail.message_id == f"<hd-{n}-{mail.id}@127.0.0.1>"
        assert mail.in_reply_to == f"<hd-{n}@127.0.0.1>"
        assert mail.references == f"<hd-{n}@127.0.0.1>"
        assert mail.reply_to is not None
        assert mail.reply_to.startswith("helpdesk+")
        assert mail.reply_to.endswith("@127.0.0.1")
        assert parse_reply_token(mail.reply_to) == world.ticket.id
    assert len({m.message_id for m in mails}) == 2
