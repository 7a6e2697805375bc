"""Who gets which mail for an event (spec §6.7), written as queued deliveries.

Only what a recipient may see: every candidate is checked with the one access policy
(identity/policy.py) for the ticket as it is now, internal kinds need SEE_INTERNAL, and
requester kinds go to the requester alone — so internal notes never reach requesters. Nobody is
mailed about their own action, except the acknowledgement of a request they filed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from helpdesk.clock import Clock, system_clock
from helpdesk.config import get_settings
from helpdesk.events.broker import Event
from helpdesk.events.types import EventType
from helpdesk.identity.models import User
from helpdesk.identity.policy import Action, allows, ticket_access
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging.models import TicketMessage, Visibility
from helpdesk.notifications import kinds
from helpdesk.notifications.defaults import default_source
from helpdesk.notifications.kinds import Audience
from helpdesk.notifications.rendering import TemplateSource, render
from helpdesk.notifications.repository import NotificationRepository
from helpdesk.notifications.tokens import reply_address
from helpdesk.tickets.models import Priority, Ticket, TicketShare
from helpdesk.tickets.repository import TicketRepository
from helpdesk.web.templating import REQUESTER_STATUS_WORDS

PLANNED_EVENTS = (
    EventType.TICKET_CREATED,
    EventType.TICKET_ASSIGNED,
    EventType.TICKET_TRANSFERRED,
    EventType.MESSAGE_REPLIED,
    EventType.TICKET_STATUS_CHANGED,
    EventType.NOTE_ADDED,
)
CHANNEL = "email"
WITH_MESSAGE = frozenset({"public_reply", "conversation_update", "internal_note", "mentioned"})


def mail_host() -> str:
    return urlsplit(get_settings().base_url).hostname or "localhost"


def thread_root(number: int, host: str | None = None) -> str:
    """The Message-ID every mail of a ticket replies to, so clients show one thread."""
    return f"<hd-{number}@{host or mail_host()}>"


def message_id(number: int, delivery_id: int, host: str | None = None) -> str:
    return f"<hd-{number}-{delivery_id}@{host or mail_host()}>"


def sender() -> str:
    return get_settings().mail_from or f"Helpdesk <helpdesk@{mail_host()}>"


@dataclass(frozen=True)
class Wanted:
    recipient_id: int | None
    kind: str


def _watchers(session: Session, ticket_id: int) -> list[int]:
    return [w.user_id for w in TicketRepository(session).watchers(ticket_id)]


def _candidates(
    session: Session, event: Event, ticket: Ticket, message: TicketMessage | None
) -> list[Wanted]:
    """In order of precedence: the first kind listed for a person is the one they get."""
    data = event.data
    match event.type:
        case EventType.TICKET_CREATED:
            wanted = [Wanted(ticket.requester_id, "request_received")]
            if data.get("assignee_id"):  # routing may assign at creation
                wanted.append(Wanted(int(data["assignee_id"]), "ticket_assigned"))
            return wanted
        case EventType.TICKET_ASSIGNED:
            to = data.get("to")
            return [Wanted(int(to), "ticket_assigned")] if to else []
        case EventType.MESSAGE_REPLIED:
            if message is None or message.visibility is not Visibility.PUBLIC:
                return []
            watchers = [Wanted(w, "conversation_update") for w in _watchers(session, ticket.id)]
            if data.get("by_requester"):
                return [Wanted(ticket.assignee_id, "conversation_update"), *watchers]
            return [Wanted(ticket.requester_id, "public_reply"), *watchers]
        case EventType.TICKET_STATUS_CHANGED:
            if data.get("to") == "waiting_requester":
                return [Wanted(ticket.requester_id, "waiting_on_you")]
            if data.get("to_category") == "resolved":
                return [Wanted(ticket.requester_id, "request_resolved")]
            if data.get("to") == "reopened":
                return [Wanted(ticket.assignee_id, "ticket_reopened")]
            return []
        case EventType.NOTE_ADDED:
            if message is None or message.visibility is not Visibility.INTERNAL:
                return []
            mentioned = [Wanted(int(u), "mentioned") for u in data.get("mentions", [])]
            return [*mentioned, *(Wanted(w, "internal_note") for w in _watchers(session, ticket.id))]
        case _:
            return []


def _may_receive(viewer: Viewer, ticket: Ticket, shares: list[TicketShare], kind: kinds.Kind) -> bool:
    access = ticket_access(viewer, ticket, shares)
    if not allows(access, Action.VIEW):
        return False
    if kind.audience is Audience.REQUESTER:
        return viewer.id == ticket.requester_id
    if not access.agent_side:
        return False
    return not kind.internal or allows(access, Action.SEE_INTERNAL)


def _context(
    ticket: Ticket,
    user: User,
    agent_view: bool,
    actor: User | None,
    message: TicketMessage | None,
    status_name: str,
    status_key: str,
) -> dict[str, Any]:
    base = get_settings().base_url
    area = "console" if agent_view else "portal"
    status = status_name if agent_view else REQUESTER_STATUS_WORDS.get(status_key, status_name)
    priority = Priority(ticket.priority)
    return {
        "ticket": {
            "reference": ticket.reference,
            "number": ticket.number,
            "subject": ticket.subject,
            "status": status,
            "priority": f"P{priority.value} · {priority.label}",
            "team": ticket.team.name if ticket.team else "",
            "requester": ticket.requester.name,
            "url": f"{base}/{area}/tickets/{ticket.number}",
        },
        "recipient": {"name": user.name, "email": user.email},
        "actor": {"name": actor.name if actor else "The helpdesk"},
        "message": {
            "body": message.body if message else "",
            "author": message.author.name if message and message.author else "",
        },
        "site": {"name": "Helpdesk", "url": base},
        "preferences_url": f"{base}/account/notifications",
    }


def plan(session: Session, event: Event, *, clock: Clock = system_clock) -> list[int]:
    """Insert the queued deliveries for one event — mails, then team chat posts; returns the
    ids of the new rows. Running it again for the same event inserts nothing (unique keys)."""
    from helpdesk.notifications import webhooks

    if event.ticket_id is None:
        return []
    ticket = TicketRepository(session).get(event.ticket_id)
    if ticket is None:
        return []
    mails = _plan_mail(session, event, ticket, clock)
    actor_id = event.payload.get("actor_id")
    actor = IdentityRepository(session).users_by_ids([actor_id]).get(actor_id) if actor_id else None
    posts = webhooks.plan(session, event, ticket, actor.name if actor else "the helpdesk", clock=clock)
    return mails + posts


def _plan_mail(session: Session, event: Event, ticket: Ticket, clock: Clock) -> list[int]:
    tickets = TicketRepository(session)
    repo = NotificationRepository(session)
    data = event.data
    message = repo.message(int(data["message_id"])) if data.get("message_id") else None
    if message is not None and message.ticket_id != ticket.id:
        message = None
    actor_id = event.payload.get("actor_id")

    chosen: dict[int, str] = {}
    for wanted in _candidates(session, event, ticket, message):
        if wanted.recipient_id is None or wanted.recipient_id in chosen:
            continue
        if wanted.recipient_id == actor_id and wanted.kind != "request_received":
            continue  # never mail people about their own action (a receipt is not news)
        chosen[wanted.recipient_id] = wanted.kind
    if not chosen:
        return []

    users = IdentityRepository(session).users_by_ids([*chosen, *([actor_id] if actor_id else [])])
    team_ids = repo.team_ids_by_user(list(chosen))
    opted_out = repo.opted_out(list(chosen))
    shares = tickets.shares(ticket.id)
    actor = users.get(actor_id) if actor_id else None
    status_key, status_name = ticket.status.key, ticket.status.name
    if event.type is EventType.TICKET_STATUS_CHANGED:  # the status the event is about
        status_key, status_name = str(data.get("to") or status_key), str(data.get("to_name") or status_name)
    templates: dict[str, TemplateSource] = {}
    host = mail_host()
    now = clock()
    created: list[int] = []
    for user_id, kind_key in chosen.items():
        user = users.get(user_id)
        kind = kinds.kind(kind_key)
        if user is None or not user.is_active or not user.email:
            continue
        viewer = Viewer(
            id=user.id, email=user.email, name=user.name, role=user.role, team_ids=team_ids[user_id]
        )
        if not _may_receive(viewer, ticket, shares, kind):
            continue
        if (user_id, kind_key) in opted_out and not kind.essential:
            continue
        if kind_key not in templates:
            row = repo.template(kind_key)
            templates[kind_key] = (
                TemplateSource(row.subject, row.body_text, row.body_html) if row else default_source(kind_key)
            )
        agent_view = kind.audience is Audience.AGENT
        body_message = message if kind_key in WITH_MESSAGE else None
        rendered = render(
            templates[kind_key],
            _context(ticket, user, agent_view, actor, body_message, status_name, status_key),
        )
        delivery_id = repo.next_delivery_id()
        root = thread_root(ticket.number, host)
        inserted = repo.insert_delivery(
            {
                "id": delivery_id,
                "event_id": event.outbox_id,
                "event_type": event.type.value,
                "ticket_id": ticket.id,
                "kind": kind_key,
                "channel": CHANNEL,
                "recipient_id": user.id,
                "recipient_address": user.email,
                "subject": rendered.subject,
                "body_text": rendered.text,
                "body_html": rendered.html,
                "message_id": message_id(ticket.number, delivery_id, host),
                "in_reply_to": root,
                "references": root,
                "reply_to": reply_address(ticket.id, host),
                "created_at": now,
                "enqueued_at": now,
            }
        )
        if inserted is not None:
            created.append(inserted)
    return created
