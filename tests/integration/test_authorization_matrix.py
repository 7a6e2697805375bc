"""The authorization matrix: every route by every kind of viewer by how they relate to the ticket.

The expectations here are written out by hand, independently of identity/policy.py, so the
policy cannot grade its own homework. A meta-test fails when a route is added without a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy.orm import Session

from helpdesk.identity.models import Role
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import SharePermission, Ticket
from tests.factories import Factory

Client = Callable[..., TestClient[Any]]

ALL = {"view", "reply", "see_internal", "note", "watch", "transition", "assign", "edit", "transfer", "share"}
# Who may do what on ticket T (owned by team "own", requested by "requester"):
EXPECTED: dict[str, set[str]] = {
    "requester": {"view", "reply", "transition"},
    "stranger": set(),
    "shared_person": {"view"},
    "agent_own": ALL,
    "lead_own": ALL,
    "agent_read_share": {"view", "see_internal", "note", "watch"},
    "agent_write_share": ALL,
    "agent_other": set(),
    "lead_other": set(),
    "admin": ALL,
}
AGENTS = {
    "agent_own",
    "lead_own",
    "agent_read_share",
    "agent_write_share",
    "agent_other",
    "lead_other",
    "admin",
}


@dataclass
class World:
    ticket: Ticket
    people: dict[str, Viewer]
    own_id: int
    other_team_id: int


@pytest.fixture
def world(db: Session, factory: Factory) -> World:
    own, read, write, other = factory.team(), factory.team(), factory.team(), factory.team()
    people = {
        "requester": factory.user(),
        "stranger": factory.user(),
        "shared_person": factory.user(),
        "agent_own": factory.user(Role.AGENT, [own]),
        "lead_own": factory.user(Role.LEAD, [own]),
        "agent_read_share": factory.user(Role.AGENT, [read]),
        "agent_write_share": factory.user(Role.AGENT, [write]),
        "agent_other": factory.user(Role.AGENT, [other]),
        "lead_other": factory.user(Role.LEAD, [other]),
        "admin": factory.user(Role.ADMIN),
    }
    ticket = factory.ticket(people["requester"], team=own, subject="Matrix ticket")
    admin = people["admin"]
    tickets.share(db, admin, ticket.id, team_id=read.id, permission=SharePermission.READ)
    tickets.share(db, admin, ticket.id, team_id=write.id, permission=SharePermission.WRITE)
    tickets.share(db, admin, ticket.id, user_email=people["shared_person"].email)
    factory.ticket(people["stranger"], team=other, subject="Unrelated")
    return World(ticket, people, own.id, other.id)


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # the registered route path, for the coverage meta-test
    url: Callable[[World], str]
    action: str
    agents_only: bool = False  # console pages answer 404 to non-agents whatever their access
    data: Callable[[World], dict[str, Any]] | None = None
    json: Callable[[World], dict[str, Any]] | None = None


def n(w: World) -> int:
    return w.ticket.number


def i(w: World) -> int:
    return w.ticket.id


TICKET_CASES = [
    Case("GET", "/portal/tickets/{number:int}", lambda w: f"/portal/tickets/{n(w)}", "view"),
    Case(
        "POST",
        "/portal/tickets/{number:int}/reply",
        lambda w: f"/portal/tickets/{n(w)}/reply",
        "reply",
        data=lambda w: {"body": "hello"},
    ),
    Case(
        "POST",
        "/portal/tickets/{number:int}/transition",
        lambda w: f"/portal/tickets/{n(w)}/transition",
        "transition",
        data=lambda w: {"to": "closed"},
    ),
    Case(
        "GET", "/console/tickets/{number:int}", lambda w: f"/console/tickets/{n(w)}", "view", agents_only=True
    ),
    Case(
        "POST",
        "/console/tickets/{number:int}/{action:str}",
        lambda w: f"/console/tickets/{n(w)}/reply",
        "reply",
        agents_only=True,
        data=lambda w: {"body": "hello"},
    ),
    Case(
        "POST",
        "/console/tickets/{number:int}/{action:str}",
        lambda w: f"/console/tickets/{n(w)}/note",
        "note",
        agents_only=True,
        data=lambda w: {"body": "psst"},
    ),
    Case(
        "POST",
        "/console/tickets/{number:int}/{action:str}",
        lambda w: f"/console/tickets/{n(w)}/transition",
        "transition",
        agents_only=True,
        data=lambda w: {"to": "in_progress"},
    ),
    Case(
        "POST",
        "/console/tickets/{number:int}/{action:str}",
        lambda w: f"/console/tickets/{n(w)}/assign",
        "assign",
        agents_only=True,
        data=lambda w: {"assignee_id": str(w.people["agent_own"].id)},
    ),
    Case(
        "POST",
        "/console/tickets/{number:int}/{action:str}",
        lambda w: f"/console/tickets/{n(w)}/update",
        "edit",
        agents_only=True,
        data=lambda w: {"priority": "2"},
    ),
    Case(
        "POST",
        "/console/tickets/{number:int}/{action:str}",
        lambda w: f"/console/tickets/{n(w)}/transfer",
        "transfer",
        agents_only=True,
        data=lambda w: {"team_id": str(w.other_team_id)},
    ),
    Case(
        "POST",
        "/console/tickets/{number:int}/{action:str}",
        lambda w: f"/console/tickets/{n(w)}/share",
        "share",
        agents_only=True,
        data=lambda w: {"user_email": w.people["stranger"].email},
    ),
    Case(
        "POST",
        "/console/tickets/{number:int}/{action:str}",
        lambda w: f"/console/tickets/{n(w)}/watch",
        "watch",
        agents_only=True,
    ),
    Case("GET", "/api/v1/tickets/{ticket_id:int}", lambda w: f"/api/v1/tickets/{i(w)}", "view"),
    Case("GET", "/api/v1/tickets/{ticket_id:int}/events", lambda w: f"/api/v1/tickets/{i(w)}/events", "view"),
    Case(
        "PATCH",
        "/api/v1/tickets/{ticket_id:int}",
        lambda w: f"/api/v1/tickets/{i(w)}",
        "edit",
        json=lambda w: {"priority": "P2"},
    ),
    Case(
        "POST",
        "/api/v1/tickets/{ticket_id:int}/transition",
        lambda w: f"/api/v1/tickets/{i(w)}/transition",
        "transition",
        json=lambda w: {"to": "closed"},
    ),
    Case(
        "POST",
        "/api/v1/tickets/{ticket_id:int}/messages",
        lambda w: f"/api/v1/tickets/{i(w)}/messages",
        "reply",
        json=lambda w: {"body": "hello"},
    ),
    Case(
        "POST",
        "/api/v1/tickets/{ticket_id:int}/notes",
        lambda w: f"/api/v1/tickets/{i(w)}/notes",
        "note",
        json=lambda w: {"body": "psst"},
    ),
    Case(
        "POST",
        "/api/v1/tickets/{ticket_id:int}/assign",
        lambda w: f"/api/v1/tickets/{i(w)}/assign",
        "assign",
        json=lambda w: {"assignee_id": w.people["agent_own"].id},
    ),
    Case(
        "POST",
        "/api/v1/tickets/{ticket_id:int}/transfer",
        lambda w: f"/api/v1/tickets/{i(w)}/transfer",
        "transfer",
        json=lambda w: {"team_id": w.other_team_id},
    ),
    Case(
        "POST",
        "/api/v1/tickets/{ticket_id:int}/share",
        lambda w: f"/api/v1/tickets/{i(w)}/share",
        "share",
        json=lambda w: {"user_email": w.people["stranger"].email},
    ),
]


def _expected_status(who: str, case: Case) -> str:
    if case.agents_only and who not in AGENTS:
        return "hidden"
    granted = EXPECTED[who]
    if not granted:
        return "hidden"
    return "allowed" if case.action in granted else "forbidden"


@pytest.mark.parametrize("who", list(EXPECTED))
@pytest.mark.parametrize("case", TICKET_CASES, ids=lambda c: f"{c.method} {c.route} {c.action}")
def test_ticket_route(app_client: Client, world: World, who: str, case: Case) -> None:
    client = app_client(world.people[who])
    kwargs: dict[str, Any] = {"follow_redirects": False}
    if case.data is not None:
        kwargs["data"] = case.data(world)
    if case.json is not None:
        kwargs["json"] = case.json(world)
    elif case.method != "GET" and case.data is None:
        kwargs["data"] = {}
    response = client.request(case.method, case.url(world), **kwargs)
    expected = _expected_status(who, case)
    if expected == "hidden":
        assert response.status_code == 404, response.text[:300]
    elif expected == "forbidden":
        assert response.status_code in (403, 409), response.text[:300]
    else:
        assert response.status_code in (200, 201, 303), response.text[:500]
        if response.status_code == 303:
            assert not response.headers["location"].startswith("/login")


@pytest.mark.parametrize("who", list(EXPECTED))
def test_lists_show_exactly_the_visible_tickets(app_client: Client, world: World, who: str) -> None:
    client = app_client(world.people[who])
    api = client.get("/api/v1/tickets?limit=200")
    assert api.status_code == 200
    numbers = {item["number"] for item in api.json()["items"]}
    assert (world.ticket.number in numbers) == bool(EXPECTED[who])


@pytest.mark.parametrize("who", list(EXPECTED))
def test_internal_notes_reach_only_agent_side_viewers(
    app_client: Client, world: World, db: Session, who: str
) -> None:
    from helpdesk.messaging import service as messaging
    from helpdesk.messaging.models import Visibility

    messaging.add_message(
        db, world.people["agent_own"], world.ticket.id, "INTERNAL-ONLY", visibility=Visibility.INTERNAL
    )
    client = app_client(world.people[who])
    api = client.get(f"/api/v1/tickets/{world.ticket.id}")
    if not EXPECTED[who]:
        assert api.status_code == 404
        return
    assert ("INTERNAL-ONLY" in api.text) == ("see_internal" in EXPECTED[who])
    portal = client.get(f"/portal/tickets/{world.ticket.number}")
    assert "INTERNAL-ONLY" not in portal.text
    if who in AGENTS:
        console = client.get(f"/console/tickets/{world.ticket.number}")
        assert ("INTERNAL-ONLY" in console.text) == ("see_internal" in EXPECTED[who])


@pytest.mark.parametrize("who", list(EXPECTED))
def test_team_backlogs_are_for_their_agents(app_client: Client, world: World, db: Session, who: str) -> None:
    from helpdesk.identity.repository import IdentityRepository

    slug = IdentityRepository(db).team(world.own_id).slug  # type: ignore[union-attr]
    response = app_client(world.people[who]).get(f"/console/teams/{slug}")
    may = who in ("agent_own", "lead_own", "admin")
    assert response.status_code == (200 if may else 404)


# Routes that do not act on one ticket, with who may use them.
OTHER_ROUTES = {
    ("GET", "/"): "anyone",
    ("GET", "/login"): "anyone",
    ("POST", "/login"): "anyone",
    ("POST", "/logout"): "signed in",
    ("GET", "/healthz"): "anyone",
    ("GET", "/readyz"): "anyone",
    ("GET", "/metrics"): "anyone",
    ("GET", "/static/{file_path:path}"): "anyone",
    ("HEAD", "/static/{file_path:path}"): "anyone",
    ("GET", "/styleguide"): "agents",
    ("GET", "/styleguide/console"): "agents",
    ("GET", "/portal"): "signed in (own tickets only: test_lists_show_exactly_the_visible_tickets)",
    ("GET", "/portal/new"): "signed in",
    ("POST", "/portal/new"): "signed in",
    ("GET", "/console"): "agents",
    ("GET", "/console/teams/{slug:str}"): "team agents (test_team_backlogs_are_for_their_agents)",
    ("POST", "/console/bulk"): "agents; each ticket through the policy (test_console bulk tests)",
    ("POST", "/console/filters"): "agents",
    ("POST", "/console/filters/{filter_id:int}/delete"): "owner or admin",
    ("GET", "/console/live"): "agents; channels by the policy (test_live.py)",
    ("GET", "/api/v1/tickets"): "signed in, policy-filtered (test_lists_show_exactly_the_visible_tickets)",
    ("POST", "/api/v1/tickets"): "signed in",
    # notifications (tests/notifications/test_routes.py): own preferences; settings for admins
    ("GET", "/account/notifications"): "signed in (own preferences only)",
    ("POST", "/account/notifications"): "signed in (own preferences only)",
    ("GET", "/settings/notifications"): "admins",
    ("GET", "/settings/notifications/{kind:str}"): "admins",
    ("POST", "/settings/notifications/{kind:str}"): "admins",
    ("POST", "/settings/notifications/{kind:str}/preview"): "admins",
    ("POST", "/settings/notifications/{kind:str}/reset"): "admins",
    ("GET", "/settings/mail-log"): "admins",
    ("GET", "/settings/mail-log/{delivery_id:int}"): "admins",
    ("POST", "/account/notifications/digest"): "leads and admins with a team (test_digest.py)",
    # webhooks and the overview (tests/notifications/test_webhooks.py): admins, and leads for their teams
    ("GET", "/settings"): "admins; leads see their teams' part",
    ("GET", "/settings/webhooks"): "admins; leads of a team",
    ("GET", "/settings/webhooks/new"): "admins; leads of a team",
    ("POST", "/settings/webhooks/new"): "admins; leads for their own teams",
    ("GET", "/settings/webhooks/{webhook_id:int}"): "admins; leads of the webhook's team",
    ("POST", "/settings/webhooks/{webhook_id:int}"): "admins; leads of the webhook's team",
    ("POST", "/settings/webhooks/{webhook_id:int}/delete"): "admins; leads of the webhook's team",
    ("POST", "/settings/webhooks/{webhook_id:int}/test"): "admins; leads of the webhook's team",
}


@pytest.mark.parametrize("path", ["/console", "/styleguide", "/console/teams/it"])
def test_agent_pages_are_hidden_from_requesters(app_client: Client, factory: Factory, path: str) -> None:
    assert app_client(factory.user()).get(path).status_code == 404


def test_every_route_is_in_the_matrix(engine: Any) -> None:
    from helpdesk.app import create_app

    covered = {(c.method, c.route) for c in TICKET_CASES} | set(OTHER_ROUTES)
    missing = []
    for route in create_app().routes:
        if route.path.startswith("/schema"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", ()):
                if method != "OPTIONS" and (method, route.path) not in covered:
                    missing.append(f"{method} {route.path}")
    assert not missing, f"routes missing from the authorization matrix: {missing}"
