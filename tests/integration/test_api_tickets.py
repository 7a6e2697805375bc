"""The tickets JSON API: create (idempotent), list (keyset pages, filters), detail, PATCH with
If-Match, workflow and collaboration actions, and who may see what."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from helpdesk.identity import service as identity
from helpdesk.identity.models import Role, Team
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging import service as messaging
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Category
from tests.factories import Factory

MakeClient = Callable[..., Any]


@dataclass
class Org:
    it: Team
    fac: Team
    printers: Category
    agent: Viewer  # IT agent
    agent2: Viewer  # IT agent
    fac_agent: Viewer
    admin: Viewer
    emp: Viewer  # requester
    other: Viewer  # another requester


@pytest.fixture
def org(factory: Factory) -> Org:
    it = factory.team()
    fac = factory.team()
    return Org(
        it=it,
        fac=fac,
        printers=factory.category(it, name="Printers"),
        agent=factory.user(Role.AGENT, [it]),
        agent2=factory.user(Role.AGENT, [it]),
        fac_agent=factory.user(Role.AGENT, [fac]),
        admin=factory.user(Role.ADMIN),
        emp=factory.user(),
        other=factory.user(),
    )


@pytest.fixture
def api(app_client: MakeClient, db: Session) -> Callable[[Viewer], Any]:
    """A client authenticated with a bearer token, like a script or integration would be."""

    def make(viewer: Viewer) -> Any:
        user = IdentityRepository(db).user(viewer.id)
        assert user is not None
        token = identity.create_token(db, user, "tests")
        client = app_client()
        client.headers["Authorization"] = f"Bearer {token}"
        return client

    return make


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("error"), str)
    assert isinstance(body.get("detail"), str)
    assert body["detail"]
    if code is not None:
        assert body["error"] == code, body
    return body


NEW = {"subject": "VPN drops every few minutes", "description": "Since this morning, on the office wifi."}


# --- OpenAPI --------------------------------------------------------------------------------


def test_openapi_document_lists_the_ticket_api(app_client: MakeClient) -> None:
    r = app_client().get("/schema/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    expected = {
        "/api/v1/tickets": {"get", "post"},
        "/api/v1/tickets/{ticket_id}": {"get", "patch"},
        "/api/v1/tickets/{ticket_id}/events": {"get"},
        "/api/v1/tickets/{ticket_id}/transition": {"post"},
        "/api/v1/tickets/{ticket_id}/messages": {"post"},
        "/api/v1/tickets/{ticket_id}/notes": {"post"},
        "/api/v1/tickets/{ticket_id}/transfer": {"post"},
        "/api/v1/tickets/{ticket_id}/share": {"post"},
        "/api/v1/tickets/{ticket_id}/assign": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            assert paths[path][method]["tags"] == ["tickets"]
    schemas = doc["components"]["schemas"]
    assert {"TicketOut", "TicketDetailOut", "TicketCreate", "TicketPatch", "ErrorOut"} <= set(schemas)
    assert "Idempotency-Key" in {p["name"] for p in paths["/api/v1/tickets"]["post"]["parameters"]}
    patch_params = {p["name"] for p in paths["/api/v1/tickets/{ticket_id}"]["patch"]["parameters"]}
    assert "If-Match" in patch_params
    assert "412" in paths["/api/v1/tickets/{ticket_id}"]["patch"]["responses"]


# --- create ---------------------------------------------------------------------------------


def test_create_returns_201_with_the_ticket(org: Org, api: Any) -> None:
    client = api(org.emp)
    body = {
        **NEW,
        "category_id": org.printers.id,
        "priority": "P2",
        "severity": 3,
        "tags": ["VPN", "remote"],
    }
    r = client.post("/api/v1/tickets", json=body)
    assert r.status_code == 201, r.text
    t = r.json()
    assert r.headers["location"] == f"/api/v1/tickets/{t['id']}"
    assert r.headers["etag"] == f'"{t["version"]}"'
    assert t["reference"] == f"HD-{t['number']}"
    assert t["subject"] == NEW["subject"]
    assert t["description"] == NEW["description"]
    assert (t["status"], t["status_name"], t["status_category"]) == ("new", "New", "new")
    assert t["priority"] == "P2"
    assert t["severity"] == 3
    assert t["team"] == org.it.slug  # from the category
    assert t["category"] == "Printers"
    assert t["category_id"] == org.printers.id
    assert t["requester"] == org.emp.email
    assert t["assignee"] is None
    assert t["channel"] == "api"
    assert t["tags"] == ["vpn", "remote"]
    assert t["fields"] == {}
    for stamp in ("created_at", "updated_at"):
        assert t[stamp].endswith(("Z", "+00:00"))
    assert t["first_response_at"] is None
    assert t["resolved_at"] is None
    assert t["closed_at"] is None


def test_create_accepts_numeric_priority(org: Org, api: Any) -> None:
    r = api(org.emp).post("/api/v1/tickets", json={**NEW, "priority": 1})
    assert r.status_code == 201
    assert r.json()["priority"] == "P1"


def test_create_is_idempotent_with_a_key(org: Org, api: Any) -> None:
    client = api(org.emp)
    headers = {"Idempotency-Key": "create-42"}
    first = client.post("/api/v1/tickets", json=NEW, headers=headers)
    assert first.status_code == 201
    replay = client.post("/api/v1/tickets", json=NEW, headers=headers)
    assert replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]
    different = client.post("/api/v1/tickets", json={**NEW, "subject": "Other"}, headers=headers)
    assert_error(different, 409, "conflict")
    # Without the key a repeat is a new ticket; the key is per user.
    assert client.post("/api/v1/tickets", json=NEW).json()["id"] != first.json()["id"]
    mine = client.get("/api/v1/tickets", params={"mine": "true"}).json()["items"]
    assert len(mine) == 2
    other = api(org.other).post("/api/v1/tickets", json=NEW, headers=headers)
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


def test_agent_files_on_behalf_of_a_requester(org: Org, api: Any) -> None:
    r = api(org.agent).post(
        "/api/v1/tickets", json={**NEW, "requester_email": org.emp.email, "team_id": org.it.id}
    )
    assert r.status_code == 201, r.text
    assert r.json()["requester"] == org.emp.email
    assert r.json()["team"] == org.it.slug
    assert api(org.emp).get(f"/api/v1/tickets/{r.json()['id']}").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**NEW, "subject": "   "}, 422, "subject"),
        ({**NEW, "subject": "x" * 201}, 422, "subject"),
        ({**NEW, "subject": "x" * 5000}, 400, None),
        ({**NEW, "description": ""}, 422, "description"),
        ({**NEW, "description": "x" * 20_001}, 422, "description"),
        ({**NEW, "description": "x" * 50_000}, 400, None),
        ({"subject": "only a subject"}, 400, None),
        ({**NEW, "subject": 5}, 400, None),
        ({**NEW, "priority": "P9"}, 422, "priority"),
        ({**NEW, "priority": 0}, 422, "priority"),
        ({**NEW, "priority": True}, 400, None),
        ({**NEW, "priority": 10**30}, 422, "priority"),
        ({**NEW, "severity": "high"}, 422, "severity"),
        ({**NEW, "category_id": 987654321}, 422, "category_id"),
        ({**NEW, "category_id": 10**20}, 400, None),
        ({**NEW, "category_id": -1}, 400, None),
        ({**NEW, "team_id": 987654321}, 422, "team_id"),
        ({**NEW, "requester_email": "someone@example.test"}, 422, "requester_email"),
        ({**NEW, "tags": ["ok", "not ok!"]}, 422, "tags"),
        ({**NEW, "tags": "vpn"}, 400, None),
        ({**NEW, "tags": [f"t{i}" for i in range(100)]}, 400, None),
        ({**NEW, "fields": {"a": {"nested": 1}}}, 400, None),
        ({**NEW, "subject": "nul\x00byte"}, 422, "subject"),
        ({**NEW, "tags": ["a\x00"]}, 422, "tags"),
        ({**NEW, "colour": "blue"}, 400, None),
        ([NEW], 400, None),
        ("just a string", 400, None),
        (None, 400, None),
    ],
)
def test_create_rejects_bad_input_without_a_500(
    org: Org, api: Any, body: Any, status: int, field: str | None
) -> None:
    r = api(org.emp).post("/api/v1/tickets", json=body)
    error = assert_error(r, status)
    if field is not None:
        assert field in error.get("fields", {}), error


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"subject": "a", "description": "b"', "application/json"),
        (b"", "application/json"),
        (b'{"subject": "\xff\xfe", "description": "b"}', "application/json"),
        (b'{"subject": "\\ud800", "description": "b"}', "application/json"),
        (b'{"subject": "\xff", "description": "b"}', "text/plain"),
        (b"subject=a&description=b", "application/x-www-form-urlencoded"),
    ],
)
def test_create_rejects_malformed_bodies(org: Org, api: Any, content: bytes, content_type: str) -> None:
    r = api(org.emp).post("/api/v1/tickets", content=content, headers={"Content-Type": content_type})
    assert_error(r, 400)


def test_create_rejects_a_bad_idempotency_key(org: Org, api: Any) -> None:
    r = api(org.emp).post("/api/v1/tickets", json=NEW, headers={"Idempotency-Key": "k" * 201})
    assert_error(r, 422, "validation_failed")


# --- authentication -------------------------------------------------------------------------


def test_requests_without_credentials_get_401_json(app_client: MakeClient) -> None:
    client = app_client()
    assert_error(client.get("/api/v1/tickets"), 401, "unauthenticated")
    assert_error(client.post("/api/v1/tickets", json=NEW), 401, "unauthenticated")


def test_bearer_token_valid_invalid_and_revoked(org: Org, app_client: MakeClient, db: Session) -> None:
    user = IdentityRepository(db).user(org.emp.id)
    assert user is not None
    token = identity.create_token(db, user, "script")
    client = app_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tickets", headers=auth).status_code == 200
    # Token clients need no CSRF token for writes.
    assert client.post("/api/v1/tickets", json=NEW, headers=auth).status_code == 201
    assert_error(
        client.get("/api/v1/tickets", headers={"Authorization": "Bearer hd_not-a-real-token"}),
        401,
        "unauthenticated",
    )
    found = IdentityRepository(db).api_token(identity.token_hash(token))
    assert found is not None
    identity.revoke_token(db, found[0].id)
    assert_error(client.get("/api/v1/tickets", headers=auth), 401, "unauthenticated")


def test_browser_session_needs_the_csrf_header_for_writes(org: Org, app_client: MakeClient) -> None:
    client = app_client(org.emp)  # session cookie + X-CSRF-Token header
    assert client.post("/api/v1/tickets", json=NEW).status_code == 201
    csrf = client.headers.pop("X-CSRF-Token")
    assert client.get("/api/v1/tickets").status_code == 200  # reads need no CSRF token
    assert_error(client.post("/api/v1/tickets", json=NEW), 403, "forbidden")
    assert_error(
        client.post("/api/v1/tickets", json=NEW, headers={"X-CSRF-Token": "wrong"}), 403, "forbidden"
    )
    assert client.post("/api/v1/tickets", json=NEW, headers={"X-CSRF-Token": csrf}).status_code == 201


# --- detail and visibility ------------------------------------------------------------------


def test_detail_has_messages_transitions_and_etag(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    messaging.add_message(db, org.agent, t.id, "Have you tried turning it off and on?")
    r = api(org.agent).get(f"/api/v1/tickets/{t.id}")
    assert r.status_code == 200
    body = r.json()
    assert r.headers["etag"] == f'"{body["version"]}"'
    assert body["id"] == t.id
    assert body["number"] == t.number
    assert body["team"] == org.it.slug
    [message] = body["messages"]
    assert message["visibility"] == "public"
    assert message["author"] == org.agent.email
    assert message["body"] == "Have you tried turning it off and on?"
    assert {"id", "created_at"} <= set(message)
    assert "in_progress" in body["transitions"]


def test_requester_never_receives_internal_notes(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    agent = api(org.agent)
    assert (
        agent.post(
            f"/api/v1/tickets/{t.id}/notes", json={"body": "User is on the old VPN client"}
        ).status_code
        == 201
    )
    assert agent.post(f"/api/v1/tickets/{t.id}/messages", json={"body": "Looking into it"}).status_code == 201
    assert agent.post(f"/api/v1/tickets/{t.id}/transition", json={"to": "in_progress"}).status_code == 200

    seen = agent.get(f"/api/v1/tickets/{t.id}").json()["messages"]
    assert [m["visibility"] for m in seen] == ["internal", "public"]
    agent_events = {e["type"] for e in agent.get(f"/api/v1/tickets/{t.id}/events").json()}
    assert "note.added" in agent_events

    requester = api(org.emp)
    detail = requester.get(f"/api/v1/tickets/{t.id}")
    assert detail.status_code == 200
    assert [m["body"] for m in detail.json()["messages"]] == ["Looking into it"]
    assert "old VPN client" not in detail.text
    events = requester.get(f"/api/v1/tickets/{t.id}/events")
    assert events.status_code == 200
    assert {e["type"] for e in events.json()} == {"ticket.created", "ticket.status_changed"}
    assert "old VPN client" not in events.text
    first = events.json()[0]
    assert first["actor"] == org.emp.email
    assert set(first) == {"id", "type", "actor", "at", "data"}


def test_other_peoples_tickets_are_404_not_403(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    stranger = api(org.other)
    for r in (
        stranger.get(f"/api/v1/tickets/{t.id}"),
        stranger.get(f"/api/v1/tickets/{t.id}/events"),
        stranger.post(f"/api/v1/tickets/{t.id}/messages", json={"body": "hi"}),
        stranger.post(f"/api/v1/tickets/{t.id}/transition", json={"to": "closed"}),
        stranger.patch(f"/api/v1/tickets/{t.id}", json={"subject": "mine now"}),
    ):
        assert_error(r, 404, "not_found")
    # An agent of another team cannot see it either.
    assert_error(api(org.fac_agent).get(f"/api/v1/tickets/{t.id}"), 404, "not_found")
    assert t.id not in [i["id"] for i in stranger.get("/api/v1/tickets").json()["items"]]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/tickets/987654321", 404),
        ("/api/v1/tickets/0", 400),
        ("/api/v1/tickets/-5", 400),
        ("/api/v1/tickets/99999999999999999999999", 400),
        ("/api/v1/tickets/9223372036854775808", 400),
        ("/api/v1/tickets/abc", 404),
        ("/api/v1/tickets/987654321/events", 404),
        ("/api/v1/nope", 404),
        ("/api/v1/tickets/1/attachments", 404),
    ],
)
def test_unknown_or_malformed_ids(org: Org, api: Any, path: str, status: int) -> None:
    assert_error(api(org.agent).get(path), status)


# --- PATCH and If-Match ---------------------------------------------------------------------


def test_patch_with_if_match(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    agent = api(org.agent)
    etag = agent.get(f"/api/v1/tickets/{t.id}").headers["etag"]
    r = agent.patch(
        f"/api/v1/tickets/{t.id}",
        json={"subject": "VPN drops (office wifi)", "priority": "P1", "severity": 2, "tags": ["vpn"]},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["subject"], body["priority"], body["severity"], body["tags"]) == (
        "VPN drops (office wifi)",
        "P1",
        2,
        ["vpn"],
    )
    assert r.headers["etag"] == f'"{body["version"]}"'
    assert r.headers["etag"] != etag

    stale = agent.patch(f"/api/v1/tickets/{t.id}", json={"priority": 4}, headers={"If-Match": etag})
    assert_error(stale, 412, "version_mismatch")
    assert agent.get(f"/api/v1/tickets/{t.id}").json()["priority"] == "P1"

    version = body["version"]
    for style, priority in (("{}", 3), ('W/"{}"', 2)):
        header = style.format(version)
        r = agent.patch(f"/api/v1/tickets/{t.id}", json={"priority": priority}, headers={"If-Match": header})
        assert r.status_code == 200, (header, r.text)
        version = r.json()["version"]

    cleared = agent.patch(f"/api/v1/tickets/{t.id}", json={"severity": None})
    assert cleared.status_code == 200
    assert cleared.json()["severity"] is None
    assert (
        agent.patch(f"/api/v1/tickets/{t.id}", json={"category_id": org.printers.id}).json()["category"]
        == "Printers"
    )
    unchanged = agent.patch(f"/api/v1/tickets/{t.id}", json={})
    assert unchanged.status_code == 200
    assert agent.patch(f"/api/v1/tickets/{t.id}", json={}, headers={"If-Match": "*"}).status_code == 200
    events = [e["type"] for e in agent.get(f"/api/v1/tickets/{t.id}/events").json()]
    assert events.count("ticket.updated") == 5


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ({"status": "resolved"}, {}, 422, "validation_failed"),
        ({"subject": "x", "status": "resolved"}, {}, 422, "validation_failed"),
        ({"assignee_id": 1}, {}, 400, None),
        ({"subject": None}, {}, 400, None),
        ({"subject": ""}, {}, 422, "validation_failed"),
        ({"priority": "urgent"}, {}, 422, "validation_failed"),
        ({"category_id": 987654321}, {}, 422, "validation_failed"),
        ({"tags": [1, 2]}, {}, 400, None),
        ({"subject": "ok"}, {"If-Match": "abc"}, 400, "bad_request"),
        ({"subject": "ok"}, {"If-Match": '"99999999999999"'}, 400, "bad_request"),
        ({"subject": "ok"}, {"If-Match": '"999"'}, 412, "version_mismatch"),
        ({"subject": "ok"}, {"If-Match": "x" * 500}, 400, None),
    ],
)
def test_patch_rejects_bad_input(
    org: Org,
    api: Any,
    db: Session,
    factory: Factory,
    body: Any,
    headers: dict[str, str],
    status: int,
    code: str | None,
) -> None:
    t = factory.ticket(org.emp, team=org.it)
    r = api(org.agent).patch(f"/api/v1/tickets/{t.id}", json=body, headers=headers)
    error = assert_error(r, status, code)
    if "status" in (body or {}):
        assert "transition" in error["detail"]


def test_requester_may_not_patch(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    assert_error(api(org.emp).patch(f"/api/v1/tickets/{t.id}", json={"subject": "x"}), 403, "forbidden")


# --- workflow and collaboration -------------------------------------------------------------


def test_transitions(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    agent, requester = api(org.agent), api(org.emp)
    assert_error(requester.post(f"/api/v1/tickets/{t.id}/transition", json={"to": "in_progress"}), 409)
    r = agent.post(f"/api/v1/tickets/{t.id}/transition", json={"to": "in_progress"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["status_category"]) == ("in_progress", "open")
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    version = r.json()["version"]

    bad = agent.post(f"/api/v1/tickets/{t.id}/transition", json={"to": "new"})
    assert_error(bad, 409, "invalid_transition")
    assert_error(agent.post(f"/api/v1/tickets/{t.id}/transition", json={"to": "nope"}), 422)
    assert_error(agent.post(f"/api/v1/tickets/{t.id}/transition", json={"to": ""}), 400)
    assert_error(agent.post(f"/api/v1/tickets/{t.id}/transition", json={}), 400)
    stale = agent.post(f"/api/v1/tickets/{t.id}/transition", json={"to": "resolved", "version": version - 1})
    assert_error(stale, 412, "version_mismatch")
    stale = agent.post(
        f"/api/v1/tickets/{t.id}/transition",
        json={"to": "resolved"},
        headers={"If-Match": f'"{version - 1}"'},
    )
    assert_error(stale, 412, "version_mismatch")

    resolved = agent.post(f"/api/v1/tickets/{t.id}/transition", json={"to": "resolved", "version": version})
    assert resolved.status_code == 200
    assert resolved.json()["resolved_at"] is not None
    closed = requester.post(f"/api/v1/tickets/{t.id}/transition", json={"to": "closed"})
    assert closed.status_code == 200
    assert closed.json()["status_category"] == "closed"
    assert closed.json()["closed_at"] is not None


def test_replies_and_notes(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    agent, requester = api(org.agent), api(org.emp)
    r = requester.post(f"/api/v1/tickets/{t.id}/messages", json={"body": "  Still broken  "})
    assert r.status_code == 201, r.text
    assert r.json()["visibility"] == "public"
    assert r.json()["author"] == org.emp.email
    assert r.json()["body"] == "Still broken"
    assert r.json()["channel"] == "api"
    assert_error(requester.post(f"/api/v1/tickets/{t.id}/notes", json={"body": "sneaky"}), 403, "forbidden")
    assert_error(
        requester.post(f"/api/v1/tickets/{t.id}/messages", json={"body": "x", "then_status": "resolved"}), 422
    )

    note = agent.post(f"/api/v1/tickets/{t.id}/notes", json={"body": "Escalate to network team"})
    assert note.status_code == 201
    assert note.json()["visibility"] == "internal"
    reply = agent.post(
        f"/api/v1/tickets/{t.id}/messages", json={"body": "Fixed the AP", "then_status": "resolved"}
    )
    assert reply.status_code == 201, reply.text
    detail = agent.get(f"/api/v1/tickets/{t.id}").json()
    assert detail["status"] == "resolved"
    assert detail["first_response_at"] is not None

    for body in ({"body": ""}, {"body": "   "}):
        assert_error(agent.post(f"/api/v1/tickets/{t.id}/messages", json=body), 422, "validation_failed")
    for body in ({}, {"body": 3}, {"body": "x" * 50_000}, {"body": "x", "visibility": "internal"}):
        assert_error(agent.post(f"/api/v1/tickets/{t.id}/messages", json=body), 400)
    assert_error(agent.post(f"/api/v1/tickets/{t.id}/notes", json={"body": "a\x00b"}), 422)
    assert_error(
        agent.post(f"/api/v1/tickets/{t.id}/messages", json={"body": "x"}, headers={"If-Match": '"1"'}), 412
    )
    assert_error(
        agent.post(f"/api/v1/tickets/{t.id}/messages", json={"body": "x", "then_status": "bogus"}), 422
    )


def test_transfer(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    tickets.assign(db, org.agent, t.id, org.agent.id)
    agent = api(org.agent)
    assert_error(agent.post(f"/api/v1/tickets/{t.id}/transfer", json={"team_id": 987654321}), 422)
    assert_error(agent.post(f"/api/v1/tickets/{t.id}/transfer", json={"team": "x"}), 400)
    assert_error(api(org.emp).post(f"/api/v1/tickets/{t.id}/transfer", json={"team_id": org.fac.id}), 403)
    r = agent.post(f"/api/v1/tickets/{t.id}/transfer", json={"team_id": org.fac.id, "reason": "Wrong queue"})
    assert r.status_code == 200, r.text
    assert r.json()["team"] == org.fac.slug
    assert r.json()["assignee"] is None  # the old assignee is not in the new team
    assert r.json()["status"] == "triaged"
    # The IT agent has lost access; the facilities agent has it now.
    assert_error(agent.get(f"/api/v1/tickets/{t.id}"), 404)
    assert api(org.fac_agent).get(f"/api/v1/tickets/{t.id}").status_code == 200


def test_share_with_team_and_person(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    agent = api(org.agent)
    agent.post(f"/api/v1/tickets/{t.id}/notes", json={"body": "internal detail"})
    fac = api(org.fac_agent)
    assert_error(fac.get(f"/api/v1/tickets/{t.id}"), 404)

    r = agent.post(f"/api/v1/tickets/{t.id}/share", json={"team_id": org.fac.id, "permission": "read"})
    assert r.status_code == 200, r.text
    seen = fac.get(f"/api/v1/tickets/{t.id}")
    assert seen.status_code == 200
    assert "internal detail" in seen.text  # agents of a shared team see the notes
    assert_error(fac.patch(f"/api/v1/tickets/{t.id}", json={"subject": "x"}), 403)
    assert (
        agent.post(
            f"/api/v1/tickets/{t.id}/share", json={"team_id": org.fac.id, "permission": "write"}
        ).status_code
        == 200
    )
    assert fac.patch(f"/api/v1/tickets/{t.id}", json={"subject": "Shared work"}).status_code == 200

    assert (
        agent.post(f"/api/v1/tickets/{t.id}/share", json={"user_email": org.other.email}).status_code == 200
    )
    other = api(org.other)
    shared = other.get(f"/api/v1/tickets/{t.id}")
    assert shared.status_code == 200
    assert "internal detail" not in shared.text

    for body, status in (
        ({}, 422),
        ({"team_id": org.fac.id, "user_email": org.other.email}, 422),
        ({"team_id": org.it.id}, 422),
        ({"user_email": "nobody@example.test"}, 422),
        ({"team_id": org.fac.id, "permission": "admin"}, 400),
    ):
        assert_error(agent.post(f"/api/v1/tickets/{t.id}/share", json=body), status)


def test_assign(org: Org, api: Any, db: Session, factory: Factory) -> None:
    t = factory.ticket(org.emp, team=org.it)
    agent = api(org.agent)
    r = agent.post(f"/api/v1/tickets/{t.id}/assign", json={"assignee_id": org.agent2.id})
    assert r.status_code == 200, r.text
    assert (r.json()["assignee"], r.json()["assignee_id"], r.json()["status"]) == (
        org.agent2.email,
        org.agent2.id,
        "assigned",
    )
    assert_error(agent.post(f"/api/v1/tickets/{t.id}/assign", json={"assignee_id": org.fac_agent.id}), 422)
    assert_error(agent.post(f"/api/v1/tickets/{t.id}/assign", json={"assignee_id": org.emp.id}), 422)
    assert_error(agent.post(f"/api/v1/tickets/{t.id}/assign", json={}), 400)
    assert_error(api(org.emp).post(f"/api/v1/tickets/{t.id}/assign", json={"assignee_id": org.agent.id}), 403)
    unassigned = agent.post(f"/api/v1/tickets/{t.id}/assign", json={"assignee_id": None})
    assert unassigned.status_code == 200
    assert unassigned.json()["assignee"] is None


# --- list -----------------------------------------------------------------------------------


def test_cursor_pagination_walks_every_ticket_once(org: Org, api: Any, db: Session, factory: Factory) -> None:
    created = {factory.ticket(org.emp, subject=f"Ticket {i}").id for i in range(7)}
    client = api(org.emp)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/api/v1/tickets", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        assert len(page["items"]) <= 3
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created
    # Newest activity first.
    stamps = [t["updated_at"] for t in client.get("/api/v1/tickets").json()["items"]]
    assert stamps == sorted(stamps, reverse=True)


def test_list_filters(org: Org, api: Any, db: Session, factory: Factory) -> None:
    a = factory.ticket(org.emp, team=org.it, subject="Printer jams on floor 2", priority=1)
    b = factory.ticket(org.emp, team=org.it, category=org.printers, subject="Toner empty")
    c = factory.ticket(org.other, team=org.it, subject="Laptop fan noise", priority=4)
    d = factory.ticket(org.emp, team=org.fac, subject="Broken chair")
    pool = factory.ticket(org.other, subject="No team yet")
    tickets.assign(db, org.agent, a.id, org.agent.id)
    tickets.assign(db, org.agent, c.id, org.agent2.id)
    tickets.transition(db, org.agent, b.id, "resolved")
    tickets.update(db, org.agent, c.id, tickets.TicketChanges(tags=["hardware"]))
    agent = api(org.agent)

    def ids(**params: Any) -> set[int]:
        r = agent.get("/api/v1/tickets", params=params)
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()["items"]}

    assert ids() == {a.id, b.id, c.id, pool.id}  # own team + the triage pool, not facilities
    assert ids(team_id=org.it.id) == {a.id, b.id, c.id}
    assert ids(assignee_id="me") == {a.id}
    assert ids(assignee_id=str(org.agent2.id)) == {c.id}
    assert ids(assignee_id="none") == {b.id, pool.id}
    assert ids(status="assigned") == {a.id, c.id}
    assert ids(status="resolved,new") == {b.id, pool.id}
    assert ids(status=["resolved", "new"]) == {b.id, pool.id}
    assert ids(state="closed") == {b.id}
    assert ids(state="open") == {a.id, c.id, pool.id}
    assert ids(state="all") == ids()
    assert ids(priority="P1") == {a.id}
    assert ids(priority="1,4") == {a.id, c.id}
    assert ids(priority=["P1", "P4"]) == {a.id, c.id}
    assert ids(category_id=org.printers.id) == {b.id}
    assert ids(tag="hardware") == {c.id}
    assert ids(q="printer") == {a.id}
    assert ids(q=f"HD-{c.number}") == {c.id}
    assert ids(q="zzz-nothing") == set()
    assert ids(team_id=org.it.id, assignee_id="me", priority="P1") == {a.id}

    requester = api(org.emp)
    mine = {t["id"] for t in requester.get("/api/v1/tickets").json()["items"]}
    assert mine == {a.id, b.id, d.id}
    assert {
        t["id"] for t in requester.get("/api/v1/tickets", params={"mine": "true"}).json()["items"]
    } == mine
    admin = {t["id"] for t in api(org.admin).get("/api/v1/tickets", params={"limit": 200}).json()["items"]}
    assert {a.id, b.id, c.id, d.id, pool.id} <= admin


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode(errors="surrogateescape")).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 0}, 400),
        ({"limit": 201}, 400),
        ({"limit": "ten"}, 400),
        ({"mine": "maybe"}, 400),
        ({"state": "bogus"}, 400),
        ({"team_id": "it"}, 400),
        ({"team_id": "99999999999999999999999"}, 400),
        ({"category_id": "-3"}, 400),
        ({"status": "nope"}, 422),
        ({"status": "new,nope"}, 422),
        ({"priority": "P9"}, 422),
        ({"priority": "urgent"}, 422),
        ({"assignee_id": "bob"}, 422),
        ({"assignee_id": "99999999999999999999"}, 422),
        ({"cursor": "garbage!!"}, 422),
        ({"cursor": _b64("2024-01-01T00:00:00|5")}, 422),  # naive timestamp
        ({"cursor": _b64("2024-01-01T00:00:00+00:00|" + "9" * 25)}, 422),  # id beyond bigint
        ({"cursor": _b64("2024-01-01T00:00:00+00:00|-4")}, 422),
        ({"cursor": _b64("\udcff")}, 422),
        ({"cursor": "x" * 500}, 400),
        ({"q": "x" * 500}, 400),
        ({"q": "a\x00b"}, 400),
        ({"tag": "a\x00b"}, 400),
    ],
)
def test_list_rejects_bad_parameters(org: Org, api: Any, params: dict[str, Any], status: int) -> None:
    assert_error(api(org.agent).get("/api/v1/tickets", params=params), status)


def test_list_accepts_odd_but_harmless_search_text(org: Org, api: Any) -> None:
    client = api(org.agent)
    for q in ('"unbalanced', "a & b | !c", "-", "HD-", "((", "ünïcödé 🎉", "' OR 1=1 --"):
        r = client.get("/api/v1/tickets", params={"q": q})
        assert r.status_code == 200, (q, r.text)


def test_unsupported_methods_get_json_405(org: Org, api: Any) -> None:
    client = api(org.agent)
    assert_error(client.delete("/api/v1/tickets"), 405, "method_not_allowed")
    assert_error(client.put("/api/v1/tickets/1", json={}), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("PATCH", ""),
        ("POST", "/transition"),
        ("POST", "/messages"),
        ("POST", "/notes"),
        ("POST", "/transfer"),
        ("POST", "/share"),
        ("POST", "/assign"),
    ],
)
def test_every_body_endpoint_refuses_malformed_json(
    org: Org, api: Any, factory: Factory, method: str, suffix: str
) -> None:
    t = factory.ticket(org.emp, team=org.it)
    client = api(org.agent)
    url = f"/api/v1/tickets/{t.id}{suffix}"
    for content in (b'{"body": "\xff\xfe"}', b"{", b"[]", b"null"):
        r = client.request(method, url, content=content, headers={"Content-Type": "application/json"})
        assert_error(r, 400)
