"""Read models of the agent console: the sidebar every console page shows and the My Work page.
Each is loaded in a fixed number of queries, whatever the number of teams, filters or tickets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from helpdesk.identity.policy import can_work_team
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.backlog import backlog_url, split_saved_query
from helpdesk.tickets.filters import TicketFilters
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.repository import TicketRepository

MY_WORK_LIMIT = 50


@dataclass(frozen=True)
class NavTeam:
    id: int
    slug: str
    name: str
    open_count: int


@dataclass(frozen=True)
class NavFilter:
    id: int
    name: str
    url: str
    query: str  # the stored query string ("team=it&priority=1")
    team_slug: str
    shared: bool
    owned: bool
    deletable: bool


@dataclass(frozen=True)
class ConsoleNav:
    teams: list[NavTeam]
    saved_filters: list[NavFilter]

    def context(self, active: str) -> dict[str, Any]:
        """The variables web/console_layout.html.j2 expects."""
        return {"nav_teams": self.teams, "nav_saved_filters": self.saved_filters, "active_nav": active}

    def team(self, slug: str) -> NavTeam | None:
        return next((t for t in self.teams if t.slug == slug), None)

    def filter_for(self, query: str) -> NavFilter | None:
        return next((f for f in self.saved_filters if f.query == query), None)


def console_nav(session: Session, viewer: Viewer) -> ConsoleNav:
    """Three queries: the viewer's teams, their open counts, the saved filters they can use."""
    identity = IdentityRepository(session)
    repo = TicketRepository(session)
    if viewer.is_admin:
        teams = identity.teams()
    else:
        teams = identity.teams(sorted(viewer.team_ids)) if viewer.team_ids else []
    counts = repo.open_counts_by_team([t.id for t in teams])
    nav_teams = [NavTeam(t.id, t.slug, t.name, counts.get(t.id, 0)) for t in teams]
    slugs = {t.slug for t in teams}
    filters: list[NavFilter] = []
    for saved in repo.saved_filters(viewer):
        slug, query = split_saved_query(saved.query)
        if slug not in slugs:  # a team the viewer no longer works in
            continue
        owned = saved.user_id == viewer.id
        filters.append(
            NavFilter(
                id=saved.id,
                name=saved.name,
                url=backlog_url(slug, query),
                query=saved.query,
                team_slug=slug,
                shared=saved.team_id is not None,
                owned=owned,
                deletable=owned or viewer.is_admin,
            )
        )
    return ConsoleNav(nav_teams, filters)


@dataclass(frozen=True)
class Queue:
    tickets: list[Ticket]
    more: bool  # there are more than are shown


@dataclass(frozen=True)
class MyWork:
    assigned: Queue
    watching: Queue
    unassigned: Queue
    has_teams: bool


def my_work(session: Session, viewer: Viewer, *, limit: int = MY_WORK_LIMIT) -> MyWork:
    repo = TicketRepository(session)
    assigned = repo.page(viewer, TicketFilters(state="open", assignee_id=viewer.id, limit=limit))
    watching = repo.watched_open(viewer, limit=limit + 1)
    team_ids = sorted(t for t in viewer.team_ids if can_work_team(viewer, t))
    unassigned = repo.unassigned_open(viewer, team_ids, limit=limit + 1)
    return MyWork(
        assigned=Queue(assigned.tickets, assigned.next_cursor is not None),
        watching=Queue(watching[:limit], len(watching) > limit),
        unassigned=Queue(unassigned[:limit], len(unassigned) > limit),
        has_teams=bool(team_ids),
    )
