"""The one access policy. Every route asks here; list queries take their filter from here.

Access to a ticket is a set of roles the viewer holds on it, computed from who the viewer is
and how the ticket relates to them (requester, owning team, assignee, shares); each role
grants a fixed set of actions and the viewer may do the union:

- VIEWER: someone the ticket is shared with personally. Reads the public conversation.
- REQUESTER: the person who asked. Reads the public conversation, replies, and makes the
  requester moves of the workflow (close, reopen).
- AGENT_READ: agents of a team the ticket is shared with read-only. Also sees internal
  notes, adds notes and watches; does not talk to the requester or change the ticket.
- AGENT_WRITE: agents of the owning team (or of a team with a write share), the assignee,
  agents when the ticket has no team yet (the triage pool), and admins. Everything.

A viewer with no access gets NotFound, never Forbidden, so ticket numbers leak nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntFlag, StrEnum
from typing import Protocol

from sqlalchemy import ColumnElement, and_, exists, or_, select, true

from helpdesk.errors import Forbidden, NotFound
from helpdesk.identity.models import Role
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.models import SharePermission, Ticket, TicketShare


class Access(IntFlag):
    NONE = 0
    VIEWER = 1
    REQUESTER = 2
    AGENT_READ = 4
    AGENT_WRITE = 8

    @property
    def agent_side(self) -> bool:
        return bool(self & (Access.AGENT_READ | Access.AGENT_WRITE))


class Action(StrEnum):
    VIEW = "view"
    REPLY = "reply"
    SEE_INTERNAL = "see_internal"
    NOTE = "note"
    WATCH = "watch"
    TRANSITION = "transition"
    ASSIGN = "assign"
    EDIT = "edit"
    TRANSFER = "transfer"
    SHARE = "share"


_GRANTS: dict[Access, frozenset[Action]] = {
    Access.VIEWER: frozenset({Action.VIEW}),
    Access.REQUESTER: frozenset({Action.VIEW, Action.REPLY, Action.TRANSITION}),
    Access.AGENT_READ: frozenset({Action.VIEW, Action.SEE_INTERNAL, Action.NOTE, Action.WATCH}),
    Access.AGENT_WRITE: frozenset(Action),
}


class TicketLike(Protocol):
    @property
    def team_id(self) -> int | None: ...
    @property
    def requester_id(self) -> int: ...
    @property
    def assignee_id(self) -> int | None: ...


class ShareLike(Protocol):
    @property
    def team_id(self) -> int | None: ...
    @property
    def user_id(self) -> int | None: ...
    @property
    def permission(self) -> SharePermission: ...


def ticket_access(viewer: Viewer, ticket: TicketLike, shares: Iterable[ShareLike]) -> Access:
    if viewer.is_admin:
        return Access.AGENT_WRITE
    shares = list(shares)
    access = Access.NONE
    if viewer.id == ticket.requester_id:
        access |= Access.REQUESTER
    if any(s.user_id == viewer.id for s in shares):
        access |= Access.VIEWER
    if not viewer.is_agent:
        return access
    if ticket.team_id is None or ticket.team_id in viewer.team_ids or ticket.assignee_id == viewer.id:
        return access | Access.AGENT_WRITE
    for share in shares:
        if share.team_id is not None and share.team_id in viewer.team_ids:
            access |= Access.AGENT_WRITE if share.permission is SharePermission.WRITE else Access.AGENT_READ
    return access


def allows(access: Access, action: Action) -> bool:
    return any(action in granted for role, granted in _GRANTS.items() if role in access)


def require(viewer: Viewer, ticket: TicketLike, shares: Iterable[ShareLike], action: Action) -> Access:
    access = ticket_access(viewer, ticket, shares)
    if not access:
        raise NotFound("No such ticket.")
    if not allows(access, action):
        raise Forbidden("You are not allowed to do that on this ticket.")
    return access


def visible_tickets(viewer: Viewer, *, team_id: int | None = None) -> ColumnElement[bool]:
    """The SQL twin of ticket_access(...) != NONE, for list queries. team_id: the list is
    already limited to that team, so when the viewer sees all of that team's tickets the
    predicate is left out (it would only stop the planner from counting on an index alone)."""
    if viewer.is_admin:
        return true()
    if team_id is not None and viewer.is_agent and team_id in viewer.team_ids:
        return true()
    personal_share = exists(
        select(TicketShare.id).where(TicketShare.ticket_id == Ticket.id, TicketShare.user_id == viewer.id)
    )
    clauses: list[ColumnElement[bool]] = [Ticket.requester_id == viewer.id, personal_share]
    if viewer.is_agent:
        clauses += [Ticket.team_id.is_(None), Ticket.assignee_id == viewer.id]
        if viewer.team_ids:
            clauses += [
                Ticket.team_id.in_(viewer.team_ids),
                exists(
                    select(TicketShare.id).where(
                        and_(TicketShare.ticket_id == Ticket.id, TicketShare.team_id.in_(viewer.team_ids))
                    )
                ),
            ]
    return or_(*clauses)


def can_work_team(viewer: Viewer, team_id: int) -> bool:
    """May see the team's backlog and be offered its tickets."""
    return viewer.is_admin or (viewer.is_agent and team_id in viewer.team_ids)


def can_manage_settings(viewer: Viewer) -> bool:
    return viewer.is_admin


def can_manage_team(viewer: Viewer, team_id: int) -> bool:
    """Team configuration (e.g. its chat webhooks): admins, and the leads of that team."""
    return viewer.is_admin or (viewer.role is Role.LEAD and team_id in viewer.team_ids)


def managed_team_ids(viewer: Viewer, all_team_ids: Iterable[int]) -> list[int]:
    return [t for t in all_team_ids if can_manage_team(viewer, t)]


def can_view_reports(viewer: Viewer) -> bool:
    return viewer.is_lead


def require_agent(viewer: Viewer) -> None:
    if not viewer.is_agent:
        raise NotFound("No such page.")


def require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise Forbidden("Only administrators can change settings.")
