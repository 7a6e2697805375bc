"""Saved backlog filters: personal, or shared with the team whose backlog they filter."""

from __future__ import annotations

from sqlalchemy.orm import Session

from helpdesk.errors import Forbidden, NotFound, ValidationFailed
from helpdesk.identity.policy import can_work_team
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.backlog import saved_query, split_saved_query
from helpdesk.tickets.models import SavedFilter
from helpdesk.tickets.repository import TicketRepository
from helpdesk.tickets.validation import Errors

NAME_MAX = 80


def create_saved_filter(
    session: Session, viewer: Viewer, *, name: str, query: str, share_with_team: bool = False
) -> SavedFilter:
    """`query` is "team=<slug>&<backlog filters>"; it is re-parsed and stored canonically."""
    errors = Errors()
    clean = " ".join(name.split())
    if not clean:
        errors.add("name", "Give the filter a name.")
    elif len(clean) > NAME_MAX:
        errors.add("name", f"The name must be at most {NAME_MAX} characters.")
    slug, backlog = split_saved_query(query)
    team = IdentityRepository(session).team_by_slug(slug) if slug else None
    if team is None or not can_work_team(viewer, team.id):
        raise ValidationFailed(
            "Save a filter from one of your team backlogs.", fields={"query": "Not one of your teams."}
        )
    repo = TicketRepository(session)
    if clean and any(f.user_id == viewer.id and f.name == clean for f in repo.saved_filters(viewer)):
        errors.add("name", f"You already have a filter called {clean!r}.")
    errors.raise_if_any()
    saved = SavedFilter(
        user_id=viewer.id,
        team_id=team.id if share_with_team else None,
        name=clean,
        query=saved_query(team.slug, backlog),
    )
    session.add(saved)
    session.flush()
    return saved


def delete_saved_filter(session: Session, viewer: Viewer, filter_id: int) -> SavedFilter:
    """Only the owner or an admin; others who can see a shared filter get 403, the rest 404."""
    saved = TicketRepository(session).saved_filter(filter_id)
    owner = saved is not None and saved.user_id == viewer.id
    sees = saved is not None and (owner or viewer.is_admin or saved.team_id in viewer.team_ids)
    if saved is None or not sees:
        raise NotFound("No such saved filter.")
    if not (owner or viewer.is_admin):
        raise Forbidden("Only the person who saved this filter, or an admin, can delete it.")
    session.delete(saved)
    session.flush()
    return saved
