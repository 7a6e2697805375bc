"""Requester portal: new request, my requests, request page with the public conversation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from helpdesk.clock import system_clock
from helpdesk.errors import ValidationFailed
from helpdesk.identity.repository import IdentityRepository
from helpdesk.messaging import service as messaging
from helpdesk.tickets import service as tickets
from helpdesk.tickets.filters import Cursor, TicketFilters
from helpdesk.tickets.repository import TicketRepository
from helpdesk.tickets.routes.forms import optional_int, optional_version, text
from helpdesk.tickets.views import ticket_id_for_number, ticket_view
from helpdesk.web.deps import CurrentViewer, DbSession, FormData
from helpdesk.web.render import Flash, is_htmx, redirect, render

UPDATED_WINDOWS = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
STATES = ("open", "closed", "all")


def _list_filters(params: Any) -> tuple[TicketFilters, dict[str, str]]:
    state = params.get("state") if params.get("state") in STATES else "open"
    priority = params.get("priority", "")
    updated = params.get("updated", "")
    since = system_clock() - UPDATED_WINDOWS[updated] if updated in UPDATED_WINDOWS else None
    chosen = {
        "state": state,
        "priority": priority if priority in ("1", "2", "3", "4") else "",
        "updated": updated if updated in UPDATED_WINDOWS else "",
    }
    filters = TicketFilters(
        mine=True,
        state=None if state == "all" else state,
        priorities=(int(priority),) if chosen["priority"] else (),
        updated_since=since,
        limit=25,
    )
    return filters, chosen


@get("/portal", include_in_schema=False, sync_to_thread=True)
def my_requests(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    filters, chosen = _list_filters(request.query_params)
    raw_cursor = request.query_params.get("cursor")
    cursor = Cursor.decode(raw_cursor) if raw_cursor else None
    page = TicketRepository(db).page(viewer, filters, cursor)
    query = "&".join(f"{k}={v}" for k, v in chosen.items() if v)
    if is_htmx(request) and request.headers.get("hx-target") in ("results", "more-rows"):
        template = "tickets/portal/_rows.html.j2" if cursor else "tickets/portal/_results.html.j2"
        return render(request, viewer, template, page=page, query=query)
    return render(request, viewer, "tickets/portal/list.html.j2", page=page, chosen=chosen, query=query)


def _new_request_context(db: DbSession, team_slug: str, category_id: int | None) -> dict[str, Any]:
    identity = IdentityRepository(db)
    repo = TicketRepository(db)
    category = repo.category(category_id) if category_id else None
    team = identity.team_by_slug(team_slug) if team_slug else None
    if category is not None and team is None:
        team = identity.team(category.team_id)
    categories = repo.categories(team.id) if team else []
    return {"teams": identity.teams(), "team": team, "categories": categories, "category": category}


def _int_param(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 18 else None


@get("/portal/new", include_in_schema=False, sync_to_thread=True)
def new_request(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    params = request.query_params
    category_id = _int_param(params.get("category_id") or params.get("category"))
    ctx = _new_request_context(db, params.get("team", ""), category_id)
    if is_htmx(request) and request.headers.get("hx-target") == "category-details":
        return render(
            request,
            viewer,
            "tickets/portal/_category_details.html.j2",
            values={},
            errors={},
            oob_guidance=True,
            **ctx,
        )
    return render(request, viewer, "tickets/portal/new.html.j2", values={}, errors={}, **ctx)


@post("/portal/new", include_in_schema=False, sync_to_thread=True)
def create_request(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, form: FormData
) -> Response[Any]:
    category_id = optional_int(form, "category_id")
    category = TicketRepository(db).category(category_id) if category_id else None
    team_slug = category.team.slug if category else text(form, "team")
    answers = {
        spec["name"]: text(form, f"field_{spec['name']}") for spec in (category.fields if category else [])
    }
    data = tickets.NewTicket(
        subject=text(form, "subject"),
        description=text(form, "description"),
        category_id=category_id,
        priority=optional_int(form, "priority"),
        fields=answers,
    )
    try:
        if category_id is None:
            message = "Choose what your request is about."
            raise ValidationFailed(message, fields={"category_id": message})
        created = tickets.create_ticket(db, viewer, data)
    except ValidationFailed as exc:
        db.rollback()
        return render(
            request,
            viewer,
            "tickets/portal/new.html.j2",
            status_code=422,
            values={k: text(form, k) for k in form},
            errors=exc.fields or {"subject": exc.detail},
            **_new_request_context(db, team_slug, category_id),
        )
    ref = created.ticket.reference
    return redirect(
        f"/portal/tickets/{created.ticket.number}",
        flash=Flash("success", f"Request {ref} received. We will reply here and by email."),
    )


def _detail(
    request: Request[Any, Any, Any],
    db: DbSession,
    viewer: CurrentViewer,
    number: FromPath[int],
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    body: str = "",
) -> Template:
    view = ticket_view(db, viewer, ticket_id_for_number(db, number), as_requester=True)
    return render(
        request,
        viewer,
        "tickets/portal/detail.html.j2",
        view=view,
        t=view.ticket,
        status_code=status_code,
        errors=errors or {},
        body=body,
    )


@get("/portal/tickets/{number:int}", include_in_schema=False, sync_to_thread=True)
def request_page(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, number: FromPath[int]
) -> Template:
    return _detail(request, db, viewer, number)


@post("/portal/tickets/{number:int}/reply", include_in_schema=False, sync_to_thread=True)
def reply(
    request: Request[Any, Any, Any],
    db: DbSession,
    viewer: CurrentViewer,
    form: FormData,
    number: FromPath[int],
) -> Response[Any]:
    ticket_id = ticket_id_for_number(db, number)
    try:
        messaging.add_message(db, viewer, ticket_id, text(form, "body"))
    except ValidationFailed as exc:
        db.rollback()
        return _detail(
            request,
            db,
            viewer,
            number,
            status_code=422,
            errors=exc.fields or {"body": exc.detail},
            body=text(form, "body"),
        )
    return redirect(f"/portal/tickets/{number}#latest", flash=Flash("success", "Your reply was sent."))


@post("/portal/tickets/{number:int}/transition", include_in_schema=False, sync_to_thread=True)
def change_status(
    db: DbSession, viewer: CurrentViewer, form: FormData, number: FromPath[int]
) -> Response[Any]:
    ticket_id = ticket_id_for_number(db, number)
    ticket = tickets.transition(
        db, viewer, ticket_id, text(form, "to"), expected_version=optional_version(form)
    )
    words = {
        "closed": "Request closed. Thank you!",
        "reopened": "Request reopened. We will pick it up again.",
    }
    return redirect(
        f"/portal/tickets/{number}",
        flash=Flash("success", words.get(ticket.status.key, f"Status: {ticket.status.name}.")),
    )


routes = [my_requests, new_request, create_request, request_page, reply, change_status]
