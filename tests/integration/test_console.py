"""Agent console: My Work, team backlogs, saved filters, bulk actions and the ticket page."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from helpdesk.identity.models import Role, Team
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging import service as messaging
from helpdesk.messaging.models import TicketMessage, Visibility
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Category, SavedFilter, SharePermission, Ticket, TicketShare, TicketWatcher
from helpdesk.tickets.repository import TicketRepository
from tests.factories import Factory

Client = Callable[..., TestClient]  # type: ignore[type-arg]
HTMX = {"HX-Request": "true"}


@dataclass
class World:
    it: Team
    fac: Team
    cat: Category
    agent: Viewer  # IT agent, the one mostly logged in
    mate: Viewer  # another IT agent
    fac_agent: Viewer
    emp: Viewer
    emp2: Viewer
    ticket: Ticket  # IT, new, unassigned, requested by emp


@pytest.fixture
def w(db: Session, factory: Factory) -> World:
    it = factory.team("con-it", "IT Desk")
    fac = factory.team("con-fac", "Facilities Crew")
    cat = factory.category(it, name="Network & VPN")
    emp = factory.user(name="Emma Employee")
    world = World(
        it=it,
        fac=fac,
        cat=cat,
        agent=factory.user(Role.AGENT, [it], name="Ian Agent"),
        mate=factory.user(Role.AGENT, [it], name="Mia Mate"),
        fac_agent=factory.user(Role.AGENT, [fac], name="Fiona Fac"),
        emp=emp,
        emp2=factory.user(name="Carl Colleague"),
        ticket=factory.ticket(emp, team=it, subject="VPN drops every ten minutes", category=cat),
    )
    db.commit()  # a request that rolls back must not take the fixture data with it
    return world


def fresh(db: Session, ticket: Ticket) -> Ticket:
    db.expire_all()
    loaded = TicketRepository(db).get(ticket.id)
    assert loaded is not None
    return loaded


def flash_of(response: Any) -> list[list[str]]:
    raw = response.cookies.get("hd_flash")
    assert raw, "expected a flash cookie"
    value: list[list[str]] = json.loads(unquote(raw.strip('"')))
    return value


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    end = html.find("</section>", start)
    return html[start:end]


# --- access ----------------------------------------------------------------------------


def test_pages_render_for_agents(app_client: Client, w: World) -> None:
    client = app_client(w.agent)
    for url in ("/console", f"/console/teams/{w.it.slug}", f"/console/tickets/{w.ticket.number}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'class="console"' in response.text
        assert f'href="/console/teams/{w.it.slug}"' in response.text  # the sidebar
    page = client.get(f"/console/tickets/{w.ticket.number}").text
    assert "VPN drops every ten minutes" in page
    assert 'id="reply-body"' in page
    assert 'id="note-body"' in page


def test_requesters_get_404_everywhere(app_client: Client, w: World) -> None:
    client = app_client(w.emp)
    n = w.ticket.number
    for url in ("/console", f"/console/teams/{w.it.slug}", f"/console/tickets/{n}"):
        assert client.get(url).status_code == 404, url
    posts = [
        "/console/bulk",
        "/console/filters",
        "/console/filters/1/delete",
        f"/console/tickets/{n}/reply",
        f"/console/tickets/{n}/take",
    ]
    for url in posts:
        assert client.post(url, data={"body": "x"}, follow_redirects=False).status_code == 404, url


def test_agents_of_other_teams_get_404(app_client: Client, w: World) -> None:
    client = app_client(w.fac_agent)
    assert client.get(f"/console/tickets/{w.ticket.number}").status_code == 404
    assert client.get(f"/console/teams/{w.it.slug}").status_code == 404
    assert client.get(f"/console/teams/{w.fac.slug}").status_code == 200
    assert client.get("/console/tickets/999999").status_code == 404
    response = client.post(
        f"/console/tickets/{w.ticket.number}/assign", data={"assignee_id": "me"}, follow_redirects=False
    )
    assert response.status_code == 404


def test_anonymous_is_sent_to_login(app_client: Client, w: World) -> None:
    response = app_client().get("/console", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# --- My Work ---------------------------------------------------------------------------


def test_my_work_sections(app_client: Client, db: Session, factory: Factory, w: World) -> None:
    mine = factory.ticket(w.emp, team=w.it, subject="Mine to fix")
    tickets.assign(db, w.agent, mine.id, w.agent.id)
    followed = factory.ticket(w.emp, team=w.it, subject="Mia has it, I follow")
    tickets.assign(db, w.mate, followed.id, w.mate.id)
    tickets.watch(db, w.agent, followed.id)
    done = factory.ticket(w.emp, team=w.it, subject="Already resolved")
    tickets.assign(db, w.agent, done.id, w.agent.id)
    tickets.transition(db, w.agent, done.id, "resolved")
    factory.ticket(w.emp, team=w.fac, subject="Other team pool")
    db.commit()

    html = app_client(w.agent).get("/console").text
    assigned = section(html, "q-assigned")
    watching = section(html, "q-watching")
    pool = section(html, "q-unassigned")
    assert "Mine to fix" in assigned
    assert "Already resolved" not in html
    assert "Mia has it, I follow" in watching
    assert "Mine to fix" not in watching  # assigned work is not repeated under Watching
    assert "VPN drops every ten minutes" in pool
    assert "Other team pool" not in html
    assert f'action="/console/tickets/{w.ticket.number}/take"' in pool
    assert "SLA" not in html  # no fake SLA data before SLA policies exist


# --- team backlog ----------------------------------------------------------------------


@pytest.fixture
def backlog(db: Session, factory: Factory, w: World) -> dict[str, Ticket]:
    urgent = factory.ticket(w.emp, team=w.it, subject="Urgent outage", priority=1)
    tickets.assign(db, w.agent, urgent.id, w.agent.id)
    tickets.update(db, w.agent, urgent.id, tickets.TicketChanges(tags=["outage"]))
    mias = factory.ticket(w.emp, team=w.it, subject="Printer jam on floor two", priority=4)
    tickets.assign(db, w.mate, mias.id, w.mate.id)
    resolved = factory.ticket(w.emp, team=w.it, subject="Resolved password reset")
    tickets.assign(db, w.agent, resolved.id, w.agent.id)
    tickets.transition(db, w.agent, resolved.id, "resolved")
    db.commit()
    return {"urgent": urgent, "mias": mias, "resolved": resolved}


def _subjects(html: str) -> set[str]:
    names = {
        "VPN drops every ten minutes",
        "Urgent outage",
        "Printer jam on floor two",
        "Resolved password reset",
    }
    return {n for n in names if n in html}


def test_backlog_filters(app_client: Client, w: World, backlog: dict[str, Ticket]) -> None:
    client = app_client(w.agent)
    base = f"/console/teams/{w.it.slug}"
    open_ = {"VPN drops every ten minutes", "Urgent outage", "Printer jam on floor two"}
    assert _subjects(client.get(base).text) == open_
    cases: list[tuple[str, set[str]]] = [
        ("status=all", open_ | {"Resolved password reset"}),
        ("status=closed", {"Resolved password reset"}),
        ("status=new", {"VPN drops every ten minutes"}),
        ("status=new&status=assigned", open_),
        ("priority=1", {"Urgent outage"}),
        ("assignee=me", {"Urgent outage"}),
        ("assignee=none", {"VPN drops every ten minutes"}),
        (f"assignee={w.mate.id}", {"Printer jam on floor two"}),
        (f"category={w.cat.id}", {"VPN drops every ten minutes"}),
        ("tag=outage", {"Urgent outage"}),
        ("q=printer", {"Printer jam on floor two"}),
        (f"q=HD-{backlog['urgent'].number}", {"Urgent outage"}),
        ("priority=banana&assignee=%3Cscript%3E", open_),  # hand-edited URLs are ignored, not errors
    ]
    for query, expected in cases:
        response = client.get(f"{base}?{query}")
        assert response.status_code == 200, query
        assert _subjects(response.text) == expected, query


def test_backlog_htmx_returns_results_and_canonical_url(
    app_client: Client, w: World, backlog: dict[str, Ticket]
) -> None:
    client = app_client(w.agent)
    response = client.get(
        f"/console/teams/{w.it.slug}?q=&status=open&priority=1&assignee=&category=&tag=",
        headers={**HTMX, "HX-Target": "results"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'class="sidebar"' not in response.text
    assert _subjects(response.text) == {"Urgent outage"}
    assert response.headers["HX-Push-Url"] == f"/console/teams/{w.it.slug}?priority=1"
    assert f'<tr data-href="/console/tickets/{backlog["urgent"].number}"' in response.text
    assert 'name="ticket_ids"' in response.text


def test_backlog_keyset_pagination(app_client: Client, db: Session, factory: Factory, w: World) -> None:
    for i in range(51):
        factory.ticket(w.emp, team=w.it, subject=f"Bulk created {i:02d}")
    db.commit()
    client = app_client(w.agent)
    page = client.get(f"/console/teams/{w.it.slug}").text
    assert page.count("<tr data-href=") == 50
    assert "<strong>52</strong> tickets" in page
    assert 'id="load-more"' in page
    start = page.index('id="load-more"')
    href = page[page.index('href="', start) + 6 : page.index('"', page.index('href="', start) + 6)]
    href = href.replace("&amp;", "&")
    assert "cursor=" in href
    more = client.get(href, headers={**HTMX, "HX-Target": "load-more"})
    assert more.status_code == 200
    assert more.text.count("<tr data-href=") == 2
    assert 'id="load-more"' not in more.text
    plain = client.get(href)  # the same link works without JavaScript
    assert plain.status_code == 200
    assert plain.text.count("<tr data-href=") == 2
    assert "Back to the newest" in plain.text


def test_backlog_count_is_capped(
    app_client: Client, factory: Factory, w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpdesk.tickets.routes import console

    for i in range(3):
        factory.ticket(w.emp, team=w.it, subject=f"Capped {i}")
    client = app_client(w.agent)
    monkeypatch.setattr(console, "COUNT_CAP", 2)
    assert "<strong>2+</strong> tickets" in client.get(f"/console/teams/{w.it.slug}").text
    monkeypatch.setattr(console, "COUNT_CAP", 1000)
    assert "<strong>4</strong> tickets" in client.get(f"/console/teams/{w.it.slug}").text


def test_backlog_bad_cursor_is_a_clear_error(app_client: Client, w: World) -> None:
    response = app_client(w.agent).get(f"/console/teams/{w.it.slug}?cursor=nonsense")
    assert response.status_code == 422
    assert "cursor" in response.text


# --- quick assignment ------------------------------------------------------------------


def test_take_plain(app_client: Client, db: Session, w: World) -> None:
    back = f"/console/teams/{w.it.slug}?assignee=none"
    response = app_client(w.agent).post(
        f"/console/tickets/{w.ticket.number}/take",
        data={"version": str(w.ticket.version), "back": back},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == back
    assert flash_of(response)[0][0] == "success"
    ticket = fresh(db, w.ticket)
    assert ticket.assignee_id == w.agent.id
    assert ticket.status.key == "assigned"


def test_take_htmx_swaps_the_row(app_client: Client, db: Session, w: World) -> None:
    response = app_client(w.agent).post(
        f"/console/tickets/{w.ticket.number}/take",
        data={"version": str(w.ticket.version), "row": "mywork", "back": "/console"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<tr")
    assert "Ian Agent" in response.text
    assert "Assigned" in response.text
    assert 'hx-swap-oob="beforeend:#toasts"' in response.text
    assert "is now assigned to you" in response.text


def test_take_of_a_stale_row_is_refused(app_client: Client, db: Session, w: World) -> None:
    version = w.ticket.version
    tickets.assign(db, w.mate, w.ticket.id, w.mate.id)
    db.commit()
    response = app_client(w.agent).post(
        f"/console/tickets/{w.ticket.number}/take", data={"version": str(version)}, headers=HTMX
    )
    assert response.status_code == 412
    assert response.headers["HX-Retarget"] == "#toasts"
    assert "changed by someone else" in response.text
    assert fresh(db, w.ticket).assignee_id == w.mate.id


# --- bulk actions ----------------------------------------------------------------------


def test_bulk_assign_priority_and_tag(
    app_client: Client, db: Session, factory: Factory, w: World, backlog: dict[str, Ticket]
) -> None:
    other = factory.ticket(w.emp, team=w.fac, subject="Not visible to IT")
    db.commit()
    ids = [w.ticket.id, backlog["mias"].id, other.id]
    back = f"/console/teams/{w.it.slug}?priority=4"
    response = app_client(w.agent).post(
        "/console/bulk",
        data={
            "ticket_ids": [str(i) for i in ids],
            "assignee": str(w.agent.id),
            "priority": "2",
            "tag": "Network",
            "action": "apply",
            "back": back,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == back
    kind, text = flash_of(response)[0]
    assert kind == "info"
    assert text.startswith("2 updated, 1 skipped (not found)")
    for t in (w.ticket, backlog["mias"]):
        ticket = fresh(db, t)
        assert ticket.assignee_id == w.agent.id
        assert ticket.priority == 2
        assert ticket.tags[-1] == "network"
    untouched = fresh(db, other)
    assert untouched.priority == 3
    assert untouched.assignee_id is None


def test_bulk_assign_me_reports_unchanged_and_skipped(
    app_client: Client, db: Session, factory: Factory, w: World, backlog: dict[str, Ticket]
) -> None:
    triage = factory.ticket(w.emp, subject="No team yet")  # agents see the triage pool
    db.commit()
    response = app_client(w.agent).post(
        "/console/bulk",
        data={
            "ticket_ids": [str(w.ticket.id), str(backlog["urgent"].id), str(triage.id)],
            "action": "assign_me",
        },
        headers=HTMX,
    )
    # htmx without a backlog `back`: a client-side redirect with the summary as a flash
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/console"
    text = flash_of(response)[0][1]
    assert text.startswith("1 updated, 1 already up to date, 1 skipped")
    assert f"HD-{triage.number}: Set the owning team before assigning." in text
    assert fresh(db, w.ticket).assignee_id == w.agent.id
    assert fresh(db, triage).assignee_id is None


def test_bulk_htmx_rerenders_results_with_a_toast(
    app_client: Client, db: Session, w: World, backlog: dict[str, Ticket]
) -> None:
    response = app_client(w.agent).post(
        "/console/bulk",
        data={
            "ticket_ids": [str(w.ticket.id)],
            "priority": "1",
            "action": "apply",
            "back": f"/console/teams/{w.it.slug}?priority=1",
        },
        headers={**HTMX, "HX-Target": "results"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert _subjects(response.text) == {"VPN drops every ten minutes", "Urgent outage"}
    assert 'hx-swap-oob="beforeend:#toasts"' in response.text
    assert "1 updated." in response.text
    assert fresh(db, w.ticket).priority == 1


def test_bulk_needs_tickets_and_a_change(app_client: Client, w: World) -> None:
    client = app_client(w.agent)
    back = f"/console/teams/{w.it.slug}"
    response = client.post(
        "/console/bulk", data={"action": "apply", "priority": "2", "back": back}, follow_redirects=False
    )
    assert response.status_code == 303
    assert flash_of(response) == [["error", "Select at least one ticket."]]
    response = client.post(
        "/console/bulk", data={"ticket_ids": [str(w.ticket.id)], "action": "apply"}, headers=HTMX
    )
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#toasts"
    assert "Choose what to change" in response.text
    hostile = client.post(
        "/console/bulk",
        data={"action": "apply", "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert hostile.headers["location"] == "/console"


# --- saved filters ---------------------------------------------------------------------


def test_saved_filter_personal_and_shared(app_client: Client, db: Session, w: World) -> None:
    owner = app_client(w.agent)
    response = owner.post(
        "/console/filters",
        data={"name": "  My urgent  ", "query": f"team={w.it.slug}&priority=1&junk=1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/teams/{w.it.slug}?priority=1"
    saved = db.scalar(select(SavedFilter).where(SavedFilter.name == "My urgent"))
    assert saved is not None
    assert saved.team_id is None
    assert saved.query == f"team={w.it.slug}&priority=1"
    response = owner.post(
        "/console/filters",
        data={"name": "Team unassigned", "query": f"team={w.it.slug}&assignee=none", "share": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303

    page = owner.get(f"/console/teams/{w.it.slug}?priority=1").text
    assert "My urgent" in page
    assert "Team unassigned" in page
    link = page[: page.index('<span class="nav-label">My urgent')].rsplit("<a ", 1)[1]
    assert 'aria-current="page"' in link  # the saved filter is the active sidebar entry
    assert "Delete filter" in page

    mate_page = app_client(w.mate).get("/console").text
    assert "Team unassigned" in mate_page
    assert "My urgent" not in mate_page
    assert "Team unassigned" not in app_client(w.fac_agent).get("/console").text


def test_saved_filter_field_errors(app_client: Client, db: Session, w: World) -> None:
    client = app_client(w.agent)
    query = f"team={w.it.slug}&priority=2"
    response = client.post("/console/filters", data={"name": "   ", "query": query})
    assert response.status_code == 422
    assert "Give the filter a name." in response.text
    assert 'aria-invalid="true"' in response.text
    response = client.post("/console/filters", data={"name": "x" * 81, "query": query})
    assert response.status_code == 422
    assert "at most 80 characters" in response.text
    assert client.post("/console/filters", data={"name": "Mine", "query": query}).status_code == 200
    response = client.post("/console/filters", data={"name": "Mine", "query": query})
    assert response.status_code == 422
    assert "already have a filter called" in response.text
    response = client.post(
        "/console/filters", data={"name": "Theirs", "query": f"team={w.fac.slug}"}, follow_redirects=False
    )
    assert response.status_code == 303  # not one of my teams: nothing to show, back to My Work
    assert flash_of(response)[0][0] == "error"
    assert db.scalar(select(SavedFilter).where(SavedFilter.name == "Theirs")) is None


def test_saved_filter_delete_owner_or_admin_only(
    app_client: Client, db: Session, factory: Factory, w: World
) -> None:
    shared = SavedFilter(user_id=w.agent.id, team_id=w.it.id, name="Shared one", query=f"team={w.it.slug}")
    personal = SavedFilter(user_id=w.agent.id, name="Personal", query=f"team={w.it.slug}&priority=1")
    db.add_all([shared, personal])
    db.commit()
    mate = app_client(w.mate)
    assert mate.post(f"/console/filters/{shared.id}/delete", follow_redirects=False).status_code == 403
    assert mate.post(f"/console/filters/{personal.id}/delete", follow_redirects=False).status_code == 404
    response = app_client(w.agent).post(
        f"/console/filters/{shared.id}/delete", data={"back": "/console"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    admin = factory.user(Role.ADMIN)
    db.commit()
    assert app_client(admin).post(f"/console/filters/{personal.id}/delete").status_code == 200
    db.expire_all()
    assert db.scalars(select(SavedFilter).where(SavedFilter.user_id == w.agent.id)).all() == []


# --- ticket page actions ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    action: str
    data: Callable[[World, Session], dict[str, str]]
    check: Callable[[World, Session, Ticket], bool]


def _share_first(w: World, db: Session) -> dict[str, str]:
    tickets.share(db, w.agent, w.ticket.id, team_id=w.fac.id)
    db.commit()
    share = db.scalar(select(TicketShare).where(TicketShare.ticket_id == w.ticket.id))
    assert share is not None
    return {"share_id": str(share.id)}


def _watch_first(w: World, db: Session) -> dict[str, str]:
    tickets.watch(db, w.agent, w.ticket.id)
    db.commit()
    return {}


def _messages(db: Session, t: Ticket, visibility: Visibility) -> list[str]:
    stmt = select(TicketMessage.body).where(
        TicketMessage.ticket_id == t.id, TicketMessage.visibility == visibility
    )
    return list(db.scalars(stmt))


CASES = [
    Case(
        "reply",
        lambda w, db: {"body": "Try again now"},
        lambda w, db, t: _messages(db, t, Visibility.PUBLIC) == ["Try again now"],
    ),
    Case(
        "reply",
        lambda w, db: {"body": "Fixed it", "then_status": "resolved"},
        lambda w, db, t: t.status.key == "resolved",
    ),
    Case(
        "note",
        lambda w, db: {"body": "Gateway logs"},
        lambda w, db, t: _messages(db, t, Visibility.INTERNAL) == ["Gateway logs"],
    ),
    Case("transition", lambda w, db: {"to": "triaged"}, lambda w, db, t: t.status.key == "triaged"),
    Case("assign", lambda w, db: {"assignee_id": "me"}, lambda w, db, t: t.assignee_id == w.agent.id),
    Case(
        "assign", lambda w, db: {"assignee_id": str(w.mate.id)}, lambda w, db, t: t.assignee_id == w.mate.id
    ),
    Case("update", lambda w, db: {"priority": "1"}, lambda w, db, t: t.priority == 1),
    Case(
        "update",
        lambda w, db: {"tags": "vpn, Home Office"},
        lambda w, db, t: t.tags == ["vpn", "home-office"],
    ),
    Case(
        "update",
        lambda w, db: {"subject": "VPN drops at home"},
        lambda w, db, t: t.subject == "VPN drops at home",
    ),
    Case("update", lambda w, db: {"category_id": str(w.cat.id)}, lambda w, db, t: t.category_id == w.cat.id),
    Case(
        "share",
        lambda w, db: {"team_id": str(w.fac.id), "permission": "write"},
        lambda w, db, t: any(
            s.team_id == w.fac.id and s.permission is SharePermission.WRITE
            for s in TicketRepository(db).shares(t.id)
        ),
    ),
    Case(
        "share",
        lambda w, db: {"user_email": w.emp2.email},
        lambda w, db, t: any(s.user_id == w.emp2.id for s in TicketRepository(db).shares(t.id)),
    ),
    Case("unshare", _share_first, lambda w, db, t: TicketRepository(db).shares(t.id) == []),
    Case("watch", lambda w, db: {}, lambda w, db, t: db.get(TicketWatcher, (t.id, w.agent.id)) is not None),
    Case("unwatch", _watch_first, lambda w, db, t: db.get(TicketWatcher, (t.id, w.agent.id)) is None),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.action}-{i}" for i, c in enumerate(CASES)])
def test_ticket_action_plain_post(app_client: Client, db: Session, w: World, case: Case) -> None:
    data = case.data(w, db)
    version = fresh(db, w.ticket).version
    response = app_client(w.agent).post(
        f"/console/tickets/{w.ticket.number}/{case.action}",
        data={**data, "version": str(version)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(f"/console/tickets/{w.ticket.number}")
    assert flash_of(response)[0][0] == "success"
    assert case.check(w, db, fresh(db, w.ticket))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.action}-{i}" for i, c in enumerate(CASES)])
def test_ticket_action_htmx(app_client: Client, db: Session, w: World, case: Case) -> None:
    data = case.data(w, db)
    version = fresh(db, w.ticket).version
    response = app_client(w.agent).post(
        f"/console/tickets/{w.ticket.number}/{case.action}",
        data={**data, "version": str(version)},
        headers=HTMX,
    )
    assert response.status_code == 200, response.text
    html = response.text
    assert "<html" not in html
    assert '<header id="ticket-header" class="ticket-header" hx-swap-oob="true">' in html
    assert '<aside id="ticket-side"' in html
    assert "flash-success" in html
    ticket = fresh(db, w.ticket)
    assert case.check(w, db, ticket)
    assert f'name="version" value="{ticket.version}"' in html  # the next form is not stale
    if case.action in ("reply", "note"):
        assert 'id="conversation"' in html
        assert 'id="composer"' in html
    else:
        assert 'id="reply-version"' in html


def test_stale_version_is_refused_with_412(app_client: Client, db: Session, w: World) -> None:
    stale = w.ticket.version
    tickets.update(db, w.mate, w.ticket.id, tickets.TicketChanges(priority=1))
    db.commit()
    client = app_client(w.agent)
    url = f"/console/tickets/{w.ticket.number}"
    for action, data in [
        ("transition", {"to": "triaged"}),
        ("assign", {"assignee_id": "me"}),
        ("update", {"priority": "4"}),
        ("transfer", {"team_id": str(w.fac.id)}),
    ]:
        response = client.post(
            f"{url}/{action}", data={**data, "version": str(stale)}, follow_redirects=False
        )
        assert response.status_code == 412, action
        assert "was changed by someone else" in response.text
        assert "Reload" in response.text
        htmx = client.post(f"{url}/{action}", data={**data, "version": str(stale)}, headers=HTMX)
        assert htmx.status_code == 412
        assert htmx.headers["HX-Retarget"] == "#toasts"
    ticket = fresh(db, w.ticket)
    assert (ticket.priority, ticket.status.key, ticket.assignee_id, ticket.team_id) == (
        1,
        "new",
        None,
        w.it.id,
    )


@pytest.mark.parametrize("action", ["reply", "note"])
def test_reply_and_note_with_stale_version_are_kept(
    app_client: Client, db: Session, w: World, action: str
) -> None:
    stale = w.ticket.version
    tickets.update(db, w.mate, w.ticket.id, tickets.TicketChanges(priority=1))
    db.commit()
    client = app_client(w.agent)
    url = f"/console/tickets/{w.ticket.number}/{action}"
    response = client.post(
        url, data={"body": "Written meanwhile", "version": str(stale)}, follow_redirects=False
    )
    assert response.status_code == 303
    kind, text = flash_of(response)[0]
    assert kind == "info"
    assert "Mia Mate changed this ticket while you were writing" in text
    htmx = client.post(url, data={"body": "Second one", "version": str(stale)}, headers=HTMX)
    assert htmx.status_code == 200
    assert "flash-info" in htmx.text
    assert "Mia Mate changed this ticket" in htmx.text
    visibility = Visibility.PUBLIC if action == "reply" else Visibility.INTERNAL
    assert _messages(db, w.ticket, visibility) == ["Written meanwhile", "Second one"]


def test_reply_keeps_the_message_when_the_status_move_is_refused(
    app_client: Client, db: Session, w: World
) -> None:
    response = app_client(w.agent).post(
        f"/console/tickets/{w.ticket.number}/reply",
        data={"body": "Here is the fix", "then_status": "reopened", "version": str(w.ticket.version)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    kind, text = flash_of(response)[0]
    assert kind == "info"
    assert "status was not changed" in text
    assert _messages(db, w.ticket, Visibility.PUBLIC) == ["Here is the fix"]
    assert fresh(db, w.ticket).status.key == "new"


def test_validation_errors_show_next_to_the_field(app_client: Client, db: Session, w: World) -> None:
    client = app_client(w.agent)
    url = f"/console/tickets/{w.ticket.number}"
    response = client.post(f"{url}/reply", data={"body": "   ", "version": str(w.ticket.version)})
    assert response.status_code == 422
    assert 'id="reply-error"' in response.text
    assert "Message is required." in response.text
    htmx = client.post(f"{url}/note", data={"body": ""}, headers=HTMX)
    assert htmx.status_code == 422
    assert 'id="note-error"' in htmx.text
    assert 'id="composer" class="composer-stack" aria-label="Write" hx-swap-oob="true"' in htmx.text
    tags = client.post(f"{url}/update", data={"tags": "ok, bad tag!"}, headers=HTMX)
    assert tags.status_code == 422
    assert 'id="err-tags"' in tags.text
    assert 'value="ok, bad tag!"' in tags.text  # what was typed is kept
    share = client.post(f"{url}/share", data={"user_email": "nobody@example.test"})
    assert share.status_code == 422
    assert "Unknown person." in share.text
    ticket = fresh(db, w.ticket)
    assert ticket.tags == []
    assert TicketRepository(db).shares(ticket.id) == []


def test_transfer_away_leaves_the_ticket(app_client: Client, db: Session, w: World) -> None:
    client = app_client(w.agent)
    response = client.post(
        f"/console/tickets/{w.ticket.number}/transfer",
        data={"team_id": str(w.fac.id), "reason": "It is the heating", "version": str(w.ticket.version)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    assert "no longer have access" in flash_of(response)[0][1]
    assert fresh(db, w.ticket).team_id == w.fac.id
    page = app_client(w.fac_agent).get(f"/console/tickets/{w.ticket.number}").text
    assert "transferred the ticket from <strong>IT Desk</strong> to <strong>Facilities Crew</strong>" in page
    assert "It is the heating" in page


def test_read_only_share_sees_notes_but_cannot_change(app_client: Client, db: Session, w: World) -> None:
    messaging.add_message(db, w.agent, w.ticket.id, "Secret gateway detail", visibility=Visibility.INTERNAL)
    tickets.share(db, w.agent, w.ticket.id, team_id=w.fac.id, permission=SharePermission.READ)
    db.commit()
    client = app_client(w.fac_agent)
    url = f"/console/tickets/{w.ticket.number}"
    page = client.get(url).text
    assert "Secret gateway detail" in page
    assert "msg-internal" in page
    assert "read-only" in page
    assert 'id="p-assignee"' not in page
    assert 'id="p-status"' not in page
    assert 'id="note-body"' in page
    internal = client.get(f"{url}?tab=internal", headers={**HTMX, "HX-Target": "conversation"})
    assert internal.status_code == 200
    assert "Secret gateway detail" in internal.text
    assert "Public reply" not in internal.text
    version = str(fresh(db, w.ticket).version)
    assert client.post(f"{url}/assign", data={"assignee_id": "me", "version": version}).status_code == 403
    assert client.post(f"{url}/transition", data={"to": "triaged", "version": version}).status_code == 403
    response = client.post(f"{url}/note", data={"body": "Facilities can help"}, follow_redirects=False)
    assert response.status_code == 303
    assert fresh(db, w.ticket).assignee_id is None


def test_conversation_tabs_and_timeline(app_client: Client, db: Session, w: World) -> None:
    tickets.assign(db, w.agent, w.ticket.id, w.agent.id)
    messaging.add_message(db, w.agent, w.ticket.id, "Only for agents", visibility=Visibility.INTERNAL)
    messaging.add_message(db, w.agent, w.ticket.id, "Hello Emma")
    tickets.update(db, w.agent, w.ticket.id, tickets.TicketChanges(priority=2, tags=["vpn"]))
    db.commit()
    client = app_client(w.agent)
    url = f"/console/tickets/{w.ticket.number}"
    page = client.get(url).text
    assert "Only for agents" in page
    assert "Hello Emma" in page
    assert "<strong>Ian Agent</strong> took the ticket" in page
    assert "changed status from <strong>New</strong> to <strong>Assigned</strong>" in page
    assert "changed priority from <strong>P3 · Normal</strong> to <strong>P2 · High</strong>" in page
    assert "added an internal note" in page
    public = client.get(f"{url}?tab=public").text
    assert "Hello Emma" in public
    assert "Only for agents" not in public
    internal = client.get(f"{url}?tab=internal").text
    assert "Only for agents" in internal
    assert "Hello Emma" not in internal


# --- query counts ----------------------------------------------------------------------


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _add_tickets(db: Session, factory: Factory, w: World, n: int) -> None:
    for i in range(n):
        t = factory.ticket(w.emp, team=w.it, subject=f"Load {i}", category=w.cat)
        if i % 2:
            tickets.assign(
                db, w.agent if i % 4 == 1 else w.mate, t.id, w.agent.id if i % 4 == 1 else w.mate.id
            )
        if i % 3 == 0:
            tickets.watch(db, w.agent, t.id)
    db.commit()


@pytest.mark.parametrize("url", ["/console/teams/{slug}", "/console"])
def test_query_count_does_not_grow_with_rows(
    app_client: Client, db: Session, engine: Engine, factory: Factory, w: World, url: str
) -> None:
    db.add(SavedFilter(user_id=w.agent.id, name="Mine", query=f"team={w.it.slug}&assignee=me"))
    _add_tickets(db, factory, w, 4)  # 5 with the fixture's ticket
    client = app_client(w.agent)
    target = url.format(slug=w.it.slug)
    client.get(target)  # warm-up: first-request work (e.g. template compilation) is not counted
    db.expire_all()
    with counted(engine) as few:
        assert client.get(target).status_code == 200
    _add_tickets(db, factory, w, 25)
    db.expire_all()
    with counted(engine) as many:
        response = client.get(target)
    assert response.status_code == 200
    assert response.text.count("<tr data-href=") >= 20
    assert len(few) > 3
    assert len(many) == len(few), "\n".join(many)
