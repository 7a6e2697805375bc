"""@mentions in internal notes: the mentioned agent starts watching and is notified."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.events.types import EventType
from helpdesk.identity.models import Role
from helpdesk.messaging import service as messaging
from helpdesk.messaging.mentions import mentioned_emails
from helpdesk.messaging.models import Visibility
from helpdesk.notifications import planning
from helpdesk.notifications.models import NotificationDelivery
from helpdesk.tickets.repository import TicketRepository
from tests.factories import Factory
from tests.notifications.conftest import last_event, outbox_events


def watchers(db: Session, ticket_id: int) -> set[int]:
    return {w.user_id for w in TicketRepository(db).watchers(ticket_id)}


def test_mention_by_email_adds_a_watcher_and_notifies_them(db: Session, factory: Factory) -> None:
    team = factory.team()
    requester = factory.user()
    author = factory.user(Role.AGENT, [team])
    mentioned = factory.user(Role.AGENT, [team], email="ian.agent@example.test", name="Ian Agent")
    ticket = factory.ticket(requester, team=team)
    messaging.add_message(
        db,
        author,
        ticket.id,
        "Can you check the VPN logs, @ian.agent@example.test?",
        visibility=Visibility.INTERNAL,
    )
    assert mentioned.id in watchers(db, ticket.id)
    note = last_event(db, ticket.id, EventType.NOTE_ADDED)
    assert note.data["mentions"] == [mentioned.id]
    added = last_event(db, ticket.id, EventType.TICKET_WATCHER_ADDED)
    assert added.data == {"user_id": mentioned.id}
    assert added.payload["actor_id"] == author.id
    planning.plan(db, note)
    mail = db.scalars(
        select(NotificationDelivery).where(NotificationDelivery.event_id == note.outbox_id)
    ).one()
    assert (mail.recipient_id, mail.kind) == (mentioned.id, "mentioned")
    assert "Can you check the VPN logs" in mail.body_text


def test_mention_by_name_among_the_ticket_agents(db: Session, factory: Factory) -> None:
    team = factory.team()
    author = factory.user(Role.AGENT, [team])
    ian = factory.user(Role.AGENT, [team], name="Ian Agent")
    factory.user(Role.AGENT, [team], name="Ian")  # a shorter name must not steal the mention
    ticket = factory.ticket(factory.user(), team=team)
    messaging.add_message(db, author, ticket.id, "@Ian Agent, thoughts?", visibility=Visibility.INTERNAL)
    assert last_event(db, ticket.id, EventType.NOTE_ADDED).data["mentions"] == [ian.id]


def test_mentions_only_count_for_agents_who_may_read_the_note(db: Session, factory: Factory) -> None:
    team, other = factory.team(), factory.team()
    requester = factory.user(email="erin@example.test")
    author = factory.user(Role.AGENT, [team])
    outsider = factory.user(Role.AGENT, [other], email="otto@example.test")
    ticket = factory.ticket(requester, team=team)
    before = watchers(db, ticket.id)
    messaging.add_message(
        db,
        author,
        ticket.id,
        f"cc @erin@example.test @otto@example.test @nobody@example.test @{author.email}",
        visibility=Visibility.INTERNAL,
    )
    assert "mentions" not in last_event(db, ticket.id, EventType.NOTE_ADDED).data
    assert watchers(db, ticket.id) == before
    assert outsider.id not in watchers(db, ticket.id)


def test_public_replies_do_not_process_mentions(db: Session, factory: Factory) -> None:
    team = factory.team()
    author = factory.user(Role.AGENT, [team])
    factory.user(Role.AGENT, [team], email="cleo@example.test")
    ticket = factory.ticket(factory.user(), team=team)
    messaging.add_message(db, author, ticket.id, "Thanks, @cleo@example.test will call you.")
    assert not outbox_events(db, ticket.id, EventType.TICKET_WATCHER_ADDED)


def test_mention_parser() -> None:
    body = "ping @A.B@Example.com and @a.b@example.com, mail me at x@y.org, @c@d.io."
    assert mentioned_emails(body) == ["a.b@example.com", "c@d.io"]
