"""Read models: what a page or API response about one ticket needs, loaded in a fixed
number of queries and already filtered by the access policy."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from helpdesk.audit.models import TicketEvent
from helpdesk.audit.repository import AuditRepository
from helpdesk.errors import NotFound
from helpdesk.events.types import EventType
from helpdesk.identity.models import Team, User
from helpdesk.identity.policy import Access, Action, allows, require
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging.models import TicketMessage
from helpdesk.messaging.repository import MessageRepository
from helpdesk.tickets.models import Category, Status, Ticket, TicketShare, TicketWatcher
from helpdesk.tickets.repository import TicketRepository
from helpdesk.tickets.service import allowed_targets

# Requesters see how their request moved, not the agents' bookkeeping.
REQUESTER_TIMELINE = (EventType.TICKET_CREATED.value, EventType.TICKET_STATUS_CHANGED.value)
# Events whose from/to/user_id data are user ids (a transfer's are team ids, named in its data).
USER_ID_EVENTS = frozenset(
    {
        EventType.TICKET_ASSIGNED.value,
        EventType.TICKET_WATCHER_ADDED.value,
        EventType.TICKET_WATCHER_REMOVED.value,
        EventType.TICKET_SHARED.value,
        EventType.TICKET_UNSHARED.value,
    }
)


@dataclass
class TicketView:
    ticket: Ticket
    access: Access
    messages: list[TicketMessage]
    events: list[TicketEvent]
    shares: list[TicketShare]
    watchers: list[TicketWatcher]
    transitions: list[Status]
    # Console-only choices (empty for requesters)
    agents: list[User]
    teams: list[Team]
    categories: list[Category]
    event_names: dict[int, str]  # user ids named in event data → display names

    def can(self, action: str) -> bool:
        return allows(self.access, Action(action))

    def watching(self, user_id: int) -> bool:
        return any(w.user_id == user_id for w in self.watchers)


def ticket_id_for_number(session: Session, number: int) -> int:
    ticket = TicketRepository(session).get_by_number(number)
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket.id


def ticket_view(
    session: Session, viewer: Viewer, ticket_id: int, *, as_requester: bool = False
) -> TicketView:
    """as_requester renders the portal's view (public conversation only) even for agents."""
    repo = TicketRepository(session)
    ticket = repo.get(ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    shares = repo.shares(ticket_id)
    access = require(viewer, ticket, shares, Action.VIEW)
    if as_requester:
        # The portal page: whatever the viewer is elsewhere, here they act as a requester would.
        access = (access & (Access.VIEWER | Access.REQUESTER)) or Access.VIEWER
    agent_side = allows(access, Action.SEE_INTERNAL)
    messages = MessageRepository(session).thread(ticket_id, include_internal=agent_side)
    events = AuditRepository(session).ticket_events(ticket_id, None if agent_side else REQUESTER_TIMELINE)
    identity = IdentityRepository(session)
    writable = Access.AGENT_WRITE in access
    agents = identity.team_agents(ticket.team_id) if writable and ticket.team_id else []
    teams = identity.teams() if writable else []
    names: dict[int, str] = {}
    if agent_side:
        ids = {
            value
            for e in events
            if e.type in USER_ID_EVENTS
            for key, value in e.data.items()
            if key in ("from", "to", "user_id") and isinstance(value, int)
        }
        names = {uid: u.name for uid, u in identity.users_by_ids(sorted(ids)).items()}
    return TicketView(
        ticket=ticket,
        access=access,
        messages=messages,
        events=events,
        shares=shares if agent_side else [],
        watchers=repo.watchers(ticket_id) if agent_side else [],
        transitions=allowed_targets(session, ticket, access),
        agents=agents,
        teams=teams,
        categories=repo.categories() if writable else [],
        event_names=names,
    )
