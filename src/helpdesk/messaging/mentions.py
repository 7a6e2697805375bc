"""@mentions in internal notes: `@agent.it@example.com` or `@Ian Agent`.

A mention counts only for an active agent who may read the ticket's internal notes (the one
access policy decides); anything else stays plain text."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from helpdesk.identity.models import Role, User
from helpdesk.identity.policy import Action, allows, ticket_access
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.repository import TicketRepository

EMAIL_MENTION = re.compile(
    r"(?<![\w.+-])@([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
MAX_MENTIONS = 20


def mentioned_emails(body: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in EMAIL_MENTION.finditer(body):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)[:MAX_MENTIONS]


def _named(body: str, people: list[User]) -> list[User]:
    """People whose full name follows an @ (longest names first, so "@Ann Lee" beats "@Ann")."""
    found = []
    for person in sorted(people, key=lambda p: -len(p.name)):
        if not person.name.strip():
            continue
        pattern = r"(?<![\w.+-])@" + re.escape(person.name) + r"(?![\w@])"
        body, hits = re.subn(pattern, " ", body, flags=re.IGNORECASE)  # a longer name took it
        if hits:
            found.append(person)
    return found


def resolve_mentions(session: Session, ticket: Ticket, body: str, author: Viewer) -> list[User]:
    if "@" not in body:
        return []
    identity = IdentityRepository(session)
    tickets = TicketRepository(session)
    shares = tickets.shares(ticket.id)
    candidates: dict[int, User] = {}
    for email in mentioned_emails(body):
        user = identity.user_by_email(email)
        if user is not None:
            candidates[user.id] = user
    # Names are matched against the people who work on the ticket: its teams and watchers.
    team_ids = {t for t in [ticket.team_id, *(s.team_id for s in shares)] if t is not None}
    people: dict[int, User] = {}
    for team_id in sorted(team_ids):
        people.update({u.id: u for u in identity.team_agents(team_id)})
    people.update({w.user.id: w.user for w in tickets.watchers(ticket.id)})
    for user in _named(body, list(people.values())):
        candidates.setdefault(user.id, user)
    mentioned = []
    for user in list(candidates.values())[:MAX_MENTIONS]:
        if user.id == author.id or not user.is_active or user.role is Role.REQUESTER:
            continue
        viewer = Viewer(
            id=user.id, email=user.email, name=user.name, role=user.role, team_ids=identity.team_ids(user.id)
        )
        if allows(ticket_access(viewer, ticket, shares), Action.SEE_INTERNAL):
            mentioned.append(user)
    return mentioned
