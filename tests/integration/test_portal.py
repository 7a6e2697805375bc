"""The requester portal over HTTP: create, list, read, reply, close, and what stays hidden."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.identity.models import Role
from helpdesk.messaging import service as messaging
from helpdesk.messaging.models import Visibility
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import SharePermission, Ticket
from tests.factories import Factory

Client = Callable[..., TestClient[Any]]


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Ticket)) or 0


def test_create_request_with_template_fields(app_client: Client, factory: Factory, db: Session) -> None:
    it = factory.team("it-portal")
    cat = factory.category(
        it,
        name="Laptop",
        guidance="Include the asset tag.",
        fields=[{"name": "asset", "label": "Asset tag", "type": "text", "required": True}],
    )
    emp = factory.user()
    client = app_client(emp)
    page = client.get(f"/portal/new?team={it.slug}&category_id={cat.id}")
    assert page.status_code == 200
    assert "Include the asset tag." in page.text
    assert 'name="field_asset"' in page.text

    fragment = client.get(
        f"/portal/new?team={it.slug}&category_id={cat.id}",
        headers={"HX-Request": "true", "HX-Target": "category-details"},
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'hx-swap-oob="true"' in fragment.text

    before = _count(db)
    bad = client.post("/portal/new", data={"category_id": str(cat.id), "subject": "", "description": "x"})
    assert bad.status_code == 422
    assert "Subject is required." in bad.text
    assert "Asset tag is required." in bad.text
    assert _count(db) == before  # nothing half-written

    good = client.post(
        "/portal/new",
        data={
            "category_id": str(cat.id),
            "subject": "Fan noise",
            "description": "Loud.",
            "field_asset": "LT-1",
        },
        follow_redirects=False,
    )
    assert good.status_code == 303
    ticket = db.scalar(select(Ticket).where(Ticket.subject == "Fan noise"))
    assert ticket is not None
    assert ticket.fields == {"asset": "LT-1"}
    assert ticket.team_id == it.id
    assert good.headers["location"] == f"/portal/tickets/{ticket.number}"
    detail = client.get(good.headers["location"])
    assert "Fan noise" in detail.text
    assert "received" in detail.text  # the flash message


def test_unknown_category_and_oversize_fields_are_refused(
    app_client: Client, factory: Factory, db: Session
) -> None:
    client = app_client(factory.user())
    assert (
        client.post(
            "/portal/new", data={"category_id": "999999", "subject": "a", "description": "b"}
        ).status_code
        == 422
    )
    it = factory.team()
    cat = factory.category(it)
    long = client.post(
        "/portal/new", data={"category_id": str(cat.id), "subject": "x" * 201, "description": "b"}
    )
    assert long.status_code == 422
    assert "at most 200 characters" in long.text
    assert client.post("/portal/new", data={"subject": "a", "description": "b"}).status_code == 422


def test_my_requests_shows_only_my_tickets_with_filters(
    app_client: Client, factory: Factory, db: Session
) -> None:
    team = factory.team()
    agent = factory.user(Role.AGENT, [team])
    me, other = factory.user(), factory.user()
    factory.ticket(me, team=team, subject="Mine open")
    done = factory.ticket(me, team=team, subject="Mine done")
    tickets.transition(db, agent, done.id, "resolved")
    factory.ticket(other, team=team, subject="Someone else's")
    client = app_client(me)
    open_page = client.get("/portal")
    assert "Mine open" in open_page.text
    assert "Mine done" not in open_page.text
    assert "Someone else" not in open_page.text
    closed = client.get("/portal?state=closed")
    assert "Mine done" in closed.text
    assert "Mine open" not in closed.text
    fragment = client.get("/portal?state=all", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<html" not in fragment.text
    assert "Mine open" in fragment.text
    assert "Mine done" in fragment.text


def test_requester_never_sees_internal_notes_or_other_peoples_tickets(
    app_client: Client, factory: Factory, db: Session
) -> None:
    team = factory.team()
    agent = factory.user(Role.AGENT, [team])
    me, other = factory.user(), factory.user()
    mine = factory.ticket(me, team=team)
    theirs = factory.ticket(other, team=team)
    messaging.add_message(db, agent, mine.id, "SECRET internal remark", visibility=Visibility.INTERNAL)
    messaging.add_message(db, agent, mine.id, "Public answer for you")
    client = app_client(me)
    page = client.get(f"/portal/tickets/{mine.number}")
    assert page.status_code == 200
    assert "Public answer for you" in page.text
    assert "SECRET" not in page.text
    assert client.get(f"/portal/tickets/{theirs.number}").status_code == 404
    assert client.post(f"/portal/tickets/{theirs.number}/reply", data={"body": "hi"}).status_code == 404
    # agents looking at the portal page get the requester's view too
    agent_view = app_client(agent).get(f"/portal/tickets/{mine.number}")
    assert "SECRET" not in agent_view.text


def test_shared_person_can_read_but_the_share_is_explicit(
    app_client: Client, factory: Factory, db: Session
) -> None:
    team = factory.team()
    agent = factory.user(Role.AGENT, [team])
    me, colleague = factory.user(), factory.user()
    t = factory.ticket(me, team=team)
    client = app_client(colleague)
    assert client.get(f"/portal/tickets/{t.number}").status_code == 404
    tickets.share(db, agent, t.id, user_email=colleague.email, permission=SharePermission.READ)
    assert client.get(f"/portal/tickets/{t.number}").status_code == 200


def test_reply_close_and_reopen(app_client: Client, factory: Factory, db: Session) -> None:
    team = factory.team()
    agent = factory.user(Role.AGENT, [team])
    me = factory.user()
    t = factory.ticket(me, team=team)
    client = app_client(me)
    empty = client.post(f"/portal/tickets/{t.number}/reply", data={"body": "  "})
    assert empty.status_code == 422
    assert "Message is required." in empty.text
    ok = client.post(
        f"/portal/tickets/{t.number}/reply", data={"body": "More detail"}, follow_redirects=False
    )
    assert ok.status_code == 303
    tickets.transition(db, agent, t.id, "resolved")
    closed = client.post(
        f"/portal/tickets/{t.number}/transition", data={"to": "closed"}, follow_redirects=False
    )
    assert closed.status_code == 303
    db.expire_all()
    assert db.get(Ticket, t.id).status.key == "closed"  # type: ignore[union-attr]
    # requesters cannot make agent moves
    refused = client.post(f"/portal/tickets/{t.number}/transition", data={"to": "in_progress"})
    assert refused.status_code == 409
    reopened = client.post(
        f"/portal/tickets/{t.number}/transition", data={"to": "reopened"}, follow_redirects=False
    )
    assert reopened.status_code == 303


def test_user_text_is_escaped(app_client: Client, factory: Factory) -> None:
    team = factory.team()
    me = factory.user()
    t = factory.ticket(
        me, team=team, subject="<script>alert(1)</script>", description="<img src=x onerror=alert(2)>"
    )
    page = app_client(me).get(f"/portal/tickets/{t.number}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
