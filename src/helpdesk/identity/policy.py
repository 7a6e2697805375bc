"""The one access policy. Every route asks here; list queries take their filter from here.

Access to a ticket is one of four levels, computed from who the viewer is and how the
ticket relates to them (requester, owning team, assignee, shares):

- REQUESTER: the person who asked, or someone the ticket is shared with personally.
  Sees the public conversation only, may reply and make the requester moves.
- AGENT_READ: agents of a team the ticket is shared with read-only. Sees internal notes,
  may add notes and watch.
- AGENT_WRITE: agents of the owning team (or of a team with a write share), the assignee,
  agents when the ticket has no team yet (the triage pool), and admins. Everything.

A viewer with no access gets NotFound, never Forbidden, so ticket numbers leak nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum
from typing import Protocol

from sqlalchemy import ColumnElement, and_, exists, or_, select, true

from helpdesk.errors import Forbidden, NotFound
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.models import SharePermission, Ticket, TicketShare


class Access(IntEnum):
    NONE = 0
    REQUESTER = 1
    AGENT_READ = 2
    AGENT_WRITE = 3


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


_MINIMUM: dict[Action, Access] = {
    Action.VIEW: Access.REQUESTER,
    Action.REPLY: Access.REQUESTER,
    # Requester moves (close, reopen) are narrowed further by the transition table.
    Action.TRANSITION: Access.REQUESTER,
    Action.SEE_INTERNAL: Access.AGENT_READ,
    Action.NOTE: Access.AGENT_READ,
    Action.WATCH: Access.AGENT_READ,
    Action.ASSIGN: Access.AGENT_WRITE,
    Action.EDIT: Access.AGENT_WRITE,
    Action.TRANSFER: Access.AGENT_WRITE,
    Action.SHARE: Access.AGENT_WRITE,
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
    level = Access.NONE
    if viewer.id == ticket.requester_id or any(s.user_id == viewer.id for s in shares):
        level = Access.REQUESTER
    if not viewer.is_agent:
        return level
    if ticket.team_id is None or ticket.team_id in viewer.team_ids or ticket.assignee_id == viewer.id:
        return Access.AGENT_WRITE
    for share in shares:
        if share.team_id is not None and share.team_id in viewer.team_ids:
            granted = Access.AGENT_WRITE if share.permission is SharePermission.WRITE else Access.AGENT_READ
            level = max(level, granted)
    return level


def allows(access: Access, action: Action) -> bool:
    return access >= _MINIMUM[action]


def require(viewer: Viewer, ticket: TicketLike, shares: Iterable[ShareLike], action: Action) -> Access:
    access = ticket_access(viewer, ticket, shares)
    if access is Access.NONE:
        raise NotFound("No such ticket.")
    if not allows(access, action):
        raise Forbidden("You are not allowed to do that on this ticket.")
    return access


def visible_tickets(viewer: Viewer) -> ColumnElement[bool]:
    """The SQL twin of ticket_access(...) >= REQUESTER, for list queries."""
    if viewer.is_admin:
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


def can_view_reports(viewer: Viewer) -> bool:
    return viewer.is_lead


def require_agent(viewer: Viewer) -> None:
    if not viewer.is_agent:
        raise NotFound("No such page.")


def require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise Forbidden("Only administrators can change settings.")
