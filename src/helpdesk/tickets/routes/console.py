"""Agent console HTML controllers: My Work, team backlogs (filters, saved filters, bulk actions,
quick assignment) and the ticket page with its actions.

Every handler is agent-only (requesters get 404) and thin: parse the form, call a service or a
read model, then answer with a page (plain request), a fragment (htmx) or a 303 (plain POST).
htmx POSTs on the ticket page use hx-swap="none" and get back out-of-band fragments
(header, side panel, conversation/composer when messages changed) plus a toast."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.orm import Session

from helpdesk.audit.repository import AuditRepository
from helpdesk.errors import DomainError, NotFound, ValidationFailed
from helpdesk.identity import policy
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging import service as messaging
from helpdesk.messaging.models import Visibility
from helpdesk.tickets import service as tickets
from helpdesk.tickets.backlog import STATUS_GROUPS, BacklogQuery, backlog_url, saved_query, split_saved_query
from helpdesk.tickets.bulk import BulkChanges, apply_bulk
from helpdesk.tickets.filters import Cursor
from helpdesk.tickets.models import PRIORITY_LABELS, Priority, SharePermission
from helpdesk.tickets.repository import TicketRepository
from helpdesk.tickets.routes.forms import int_list, optional_int, optional_version, text
from helpdesk.tickets.saved_filters import create_saved_filter, delete_saved_filter
from helpdesk.tickets.views import TicketView, ticket_view
from helpdesk.tickets.workspace import ConsoleNav, console_nav, my_work
from helpdesk.web.deps import CurrentViewer, DbSession, FormData
from helpdesk.web.render import Flash, hx_redirect, is_htmx, redirect, render

T = "tickets/console/"
TABS = ("all", "public", "internal")
COUNT_CAP = 1000  # beyond this the backlog says "1,000+": an exact count of a huge filter costs seconds
FRAGMENT_HEADERS = {"Vary": "HX-Request, HX-Target", "Cache-Control": "no-store"}


def _page(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    template: str,
    *,
    active: str,
    nav: ConsoleNav | None = None,
    status_code: int = 200,
    flashes: list[Flash] | None = None,
    **context: Any,
) -> Template:
    """A full console page: the one place the sidebar context is built."""
    nav = nav or console_nav(db, viewer)
    return render(
        request,
        viewer,
        T + template,
        status_code=status_code,
        flashes=flashes,
        can_work=partial(policy.can_work_team, viewer),
        **nav.context(active),
        **context,
    )


def _fragment(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    template: str,
    *,
    status_code: int = 200,
    flashes: list[Flash] | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """An htmx fragment; `flashes` go out of band into #toasts."""
    return render(
        request,
        viewer,
        T + template,
        status_code=status_code,
        flashes=flashes,
        headers={**FRAGMENT_HEADERS, **(headers or {})},
        as_fragment=True,
        can_work=partial(policy.can_work_team, viewer),
        **context,
    )


def _htmx_target(request: Request[Any, Any, Any], *targets: str) -> bool:
    return is_htmx(request) and request.headers.get("hx-target", "") in targets


def _safe_back(value: str, default: str) -> str:
    """Only console paths of this site: a form field must not become an open redirect."""
    v = value.strip()
    ok = v.startswith("/console") and len(v) < 2000 and not re.search(r"[\\\s]", v)
    return v if ok else default


def _hx_redirect(path: str, flash: Flash) -> Response[Any]:
    response = hx_redirect(path)
    response.cookies.extend(redirect(path, flash=flash).cookies)
    return response


def _fresh(db: Session) -> None:
    """Before re-rendering what a write changed: flush it and drop stale relationship caches."""
    db.flush()
    db.expire_all()


# --- My Work ----------------------------------------------------------------------------


@get("/console", include_in_schema=False, sync_to_thread=True)
def my_work_page(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    policy.require_agent(viewer)
    if _htmx_target(request, "my-work"):  # live refresh (static/js/live.js)
        return _fragment(request, viewer, "_my_work.html.j2", work=my_work(db, viewer))
    return _page(request, db, viewer, "my_work.html.j2", active="mywork", work=my_work(db, viewer))


# --- team backlog -----------------------------------------------------------------------


def _backlog(
    db: Session, viewer: Viewer, slug: str, pairs: list[tuple[str, str]], raw_cursor: str | None
) -> dict[str, Any]:
    identity = IdentityRepository(db)
    team = identity.team_by_slug(slug)
    if team is None or not team.is_active or not policy.can_work_team(viewer, team.id):
        raise NotFound("No such team backlog.")
    query = BacklogQuery.parse(pairs)
    cursor = Cursor.decode(raw_cursor) if raw_cursor else None
    filters = query.filters(viewer, team.id)
    repo = TicketRepository(db)
    page = repo.page(viewer, filters, cursor)
    return {
        "team": team,
        "bq": query,
        "page": page,
        "total": None if cursor else repo.count(viewer, filters, cap=COUNT_CAP),
        "count_cap": COUNT_CAP,
        "cursor": raw_cursor,
        "agents": identity.team_agents(team.id),
        "categories": repo.categories(team.id),
        "statuses": repo.statuses(),
        "status_groups": STATUS_GROUPS,
        "base_url": f"/console/teams/{team.slug}",
        "url": backlog_url(team.slug, query),
        "more_url": backlog_url(team.slug, query, cursor=page.next_cursor) if page.next_cursor else None,
        "saved_query": saved_query(team.slug, query),
        "row_mode": "backlog",
    }


def _backlog_page(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    ctx: dict[str, Any],
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Template:
    nav = console_nav(db, viewer)
    saved = nav.filter_for(ctx["saved_query"])
    return _page(
        request,
        db,
        viewer,
        "backlog.html.j2",
        active=f"filter:{saved.name}" if saved else f"team:{ctx['team'].slug}",
        nav=nav,
        status_code=status_code,
        active_filter=saved,
        errors=errors or {},
        values=values or {},
        **ctx,
    )


@get("/console/teams/{slug:str}", include_in_schema=False, sync_to_thread=True)
def team_backlog(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, slug: FromPath[str]
) -> Template:
    policy.require_agent(viewer)
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    ctx = _backlog(db, viewer, slug, pairs, request.query_params.get("cursor") or None)
    if _htmx_target(request, "load-more") and ctx["cursor"]:
        return _fragment(request, viewer, "_rows.html.j2", back=ctx["url"], **ctx)
    if _htmx_target(request, "results"):
        # The form sends every field, empty ones too; the address bar gets the canonical URL
        # (but not from a live refresh, which repeats the filters already in the address bar).
        live = request.headers.get("hx-trigger") == "results-live"
        push = {} if live else {"HX-Push-Url": ctx["url"]}
        return _fragment(request, viewer, "_results.html.j2", headers=push, back=ctx["url"], **ctx)
    return _backlog_page(request, db, viewer, ctx)


def _bulk_changes(viewer: Viewer, form: FormMultiDict) -> BulkChanges:
    assignee = "me" if text(form, "action") == "assign_me" else text(form, "assignee").strip()
    assign, assignee_id = False, None
    if assignee == "me":
        assign, assignee_id = True, viewer.id
    elif assignee == "none":
        assign = True
    elif assignee.isdigit() and len(assignee) < 18:
        assign, assignee_id = True, int(assignee)
    return BulkChanges(
        assign=assign,
        assignee_id=assignee_id,
        priority=optional_int(form, "priority"),
        tag=text(form, "tag").strip() or None,
    )


@post("/console/bulk", include_in_schema=False, sync_to_thread=True)
def bulk_update(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, form: FormData
) -> Response[Any]:
    policy.require_agent(viewer)
    back = _safe_back(text(form, "back"), "/console")
    try:
        result = apply_bulk(db, viewer, int_list(form, "ticket_ids"), _bulk_changes(viewer, form))
    except ValidationFailed as exc:
        if is_htmx(request):
            raise  # the error handler answers with a toast
        return redirect(back, flash=Flash("error", exc.detail))
    flash = Flash(result.kind, result.summary())
    if not is_htmx(request):
        return redirect(back, flash=flash)
    path, _, query = back.partition("?")
    slug = path.removeprefix("/console/teams/")
    if slug == path or "/" in slug:
        return _hx_redirect(back, flash)
    _fresh(db)
    pairs = [(k, v) for k, v in parse_qsl(query) if k != "cursor"]
    ctx = _backlog(db, viewer, slug, pairs, None)
    return _fragment(request, viewer, "_results.html.j2", flashes=[flash], back=ctx["url"], **ctx)


# --- saved filters ----------------------------------------------------------------------


@post("/console/filters", include_in_schema=False, sync_to_thread=True)
def save_filter(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, form: FormData
) -> Response[Any]:
    policy.require_agent(viewer)
    query = text(form, "query")
    share = text(form, "share") in ("1", "on", "true")
    try:
        saved = create_saved_filter(db, viewer, name=text(form, "name"), query=query, share_with_team=share)
    except ValidationFailed as exc:
        db.rollback()
        slug, bq = split_saved_query(query)
        try:
            ctx = _backlog(db, viewer, slug, bq.pairs(), None)
        except NotFound:
            return redirect("/console", flash=Flash("error", exc.detail))
        return _backlog_page(
            request,
            db,
            viewer,
            ctx,
            status_code=422,
            errors=exc.fields or {"name": exc.detail},
            values={"name": text(form, "name"), "share": "1" if share else ""},
        )
    slug, bq = split_saved_query(saved.query)
    shared = " and shared it with your team" if saved.team_id else ""
    return redirect(
        backlog_url(slug, bq), flash=Flash("success", f"Saved the filter “{saved.name}”{shared}.")
    )


@post("/console/filters/{filter_id:int}/delete", include_in_schema=False, sync_to_thread=True)
def delete_filter(
    db: DbSession, viewer: CurrentViewer, form: FormData, filter_id: FromPath[int]
) -> Response[Any]:
    policy.require_agent(viewer)
    saved = delete_saved_filter(db, viewer, filter_id)
    slug, bq = split_saved_query(saved.query)
    back = _safe_back(text(form, "back"), backlog_url(slug, bq))
    return redirect(back, flash=Flash("success", f"Deleted the saved filter “{saved.name}”."))


# --- ticket page ------------------------------------------------------------------------


def _tab(value: str | None) -> str:
    return value if value in TABS else "all"


def _ticket_context(
    db: Session,
    viewer: Viewer,
    ticket_id: int,
    *,
    tab: str = "all",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    failed: str | None = None,
) -> dict[str, Any]:
    view = ticket_view(db, viewer, ticket_id)
    if not view.can("see_internal"):
        tab = "all"
    internal = [m for m in view.messages if m.visibility is Visibility.INTERNAL]
    public = [m for m in view.messages if m.visibility is Visibility.PUBLIC]
    shown = {"all": view.messages, "public": public, "internal": internal}[tab]
    teams = view.teams or IdentityRepository(db).teams()
    return {
        "view": view,
        "t": view.ticket,
        "tab": tab,
        "messages": shown,
        "counts": {"all": len(view.messages), "public": len(public), "internal": len(internal)},
        "team_names": {team.id: team.name for team in teams},
        "share_teams": [team for team in view.teams if team.id != view.ticket.team_id],
        "can_take": any(a.id == viewer.id for a in view.agents) and view.ticket.assignee_id != viewer.id,
        "watching": view.watching(viewer.id),
        "errors": errors or {},
        "values": values or {},
        "failed": failed,
    }


def _ticket_nav(view: TicketView) -> str:
    team = view.ticket.team
    return f"team:{team.slug}" if team is not None else ""


@get("/console/tickets/{number:int}", include_in_schema=False, sync_to_thread=True)
def ticket_page(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, number: FromPath[int]
) -> Template:
    policy.require_agent(viewer)
    ticket = TicketRepository(db).get_by_number(number)
    if ticket is None:
        raise NotFound("No such ticket.")
    ctx = _ticket_context(db, viewer, ticket.id, tab=_tab(request.query_params.get("tab")))
    if _htmx_target(request, "conversation"):
        return _fragment(request, viewer, "_conversation.html.j2", **ctx)
    if _htmx_target(request, "ticket-live"):  # someone changed it while the page was open
        return _fragment(request, viewer, "_ticket_live.html.j2", **ctx)
    return _page(request, db, viewer, "ticket.html.j2", active=_ticket_nav(ctx["view"]), **ctx)


@dataclass(frozen=True)
class Done:
    text: str
    kind: str = "success"


ActionFn = Callable[[Session, Viewer, int, FormMultiDict], Done]
MESSAGE_ACTIONS = frozenset({"reply", "note"})


def _reply(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    messaging.add_message(db, viewer, ticket_id, text(form, "body"))
    then = text(form, "then_status").strip()
    if not then:
        return Done("Reply sent.")
    try:
        # The reply is kept even when the status move is refused (e.g. the status changed meanwhile).
        with db.begin_nested():
            moved = tickets.transition(db, viewer, ticket_id, then)
    except DomainError as exc:
        return Done(f"Reply sent, but the status was not changed: {exc.detail}", "info")
    return Done(f"Reply sent and status set to {moved.status.name}.")


def _note(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    messaging.add_message(db, viewer, ticket_id, text(form, "body"), visibility=Visibility.INTERNAL)
    return Done("Internal note added.")


def _transition(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    to = text(form, "to").strip()
    if not to:
        raise ValidationFailed("Choose the new status.", fields={"status": "Choose the new status."})
    moved = tickets.transition(db, viewer, ticket_id, to, expected_version=optional_version(form))
    return Done(f"Status changed to {moved.status.name}.")


def _assign(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    raw = text(form, "assignee_id").strip()
    if raw == "me":
        assignee_id: int | None = viewer.id
    elif raw in ("", "none"):
        assignee_id = None
    elif raw.isdigit() and len(raw) < 18:
        assignee_id = int(raw)
    else:
        raise ValidationFailed("Choose an agent.", fields={"assignee_id": "Choose an agent."})
    tickets.assign(db, viewer, ticket_id, assignee_id, expected_version=optional_version(form))
    if assignee_id is None:
        return Done("Ticket unassigned.")
    if assignee_id == viewer.id:
        return Done("Assigned to you.")
    user = IdentityRepository(db).user(assignee_id)
    return Done(f"Assigned to {user.name if user else 'the agent'}.")


def _split_tags(value: str) -> list[str]:
    return [part for part in re.split(r"[,\n]", value) if part.strip()]


def _update(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    changes = tickets.TicketChanges()
    said: list[str] = []
    if "subject" in form:
        changes.subject = text(form, "subject")
        said.append("Subject updated.")
    if "priority" in form:
        changes.priority = optional_int(form, "priority")
        if changes.priority is None:
            raise ValidationFailed("Choose a priority.", fields={"priority": "Choose a priority."})
        label = PRIORITY_LABELS.get(Priority(changes.priority)) if 1 <= changes.priority <= 4 else None
        said.append(f"Priority set to P{changes.priority} · {label}." if label else "Priority changed.")
    if "category_id" in form:
        changes.category_id = optional_int(form, "category_id")
        if changes.category_id is None:
            raise ValidationFailed("Choose a category.", fields={"category_id": "Choose a category."})
        said.append("Category changed.")
    if "tags" in form:
        changes.tags = _split_tags(text(form, "tags"))
        said.append("Tags saved.")
    if not said:
        raise ValidationFailed("Nothing to change.")
    tickets.update(db, viewer, ticket_id, changes, expected_version=optional_version(form))
    return Done(" ".join(said) if len(said) == 1 else "Ticket updated.")


def _transfer(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    team_id = optional_int(form, "team_id")
    if team_id is None:
        raise ValidationFailed("Choose a team.", fields={"team_id": "Choose a team."})
    moved = tickets.transfer(
        db,
        viewer,
        ticket_id,
        team_id,
        reason=text(form, "reason").strip() or None,
        expected_version=optional_version(form),
    )
    team = IdentityRepository(db).team(moved.team_id) if moved.team_id else None
    return Done(f"Transferred to {team.name if team else 'the team'}.")


def _share(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    email = text(form, "user_email").strip()
    team_id = optional_int(form, "team_id")
    try:
        permission = SharePermission(text(form, "permission") or "read")
    except ValueError:
        raise ValidationFailed(
            "Choose read or write access.", fields={"permission": "Choose read or write."}
        ) from None
    if not email and team_id is None:
        field = "user_email" if "user_email" in form else "team_id"
        raise ValidationFailed("Choose a team or enter an email address.", fields={field: "Required."})
    tickets.share(db, viewer, ticket_id, team_id=team_id, user_email=email or None, permission=permission)
    if email:
        return Done(f"Shared with {email}.")
    team = IdentityRepository(db).team(team_id) if team_id else None
    words = "read and write" if permission is SharePermission.WRITE else "read-only"
    return Done(f"Shared with {team.name if team else 'the team'} ({words}).")


def _unshare(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    share_id = optional_int(form, "share_id")
    if share_id is None:
        raise NotFound("No such share.")
    tickets.unshare(db, viewer, ticket_id, share_id)
    return Done("Share removed.")


def _watch(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    tickets.watch(db, viewer, ticket_id)
    return Done("You are watching this ticket.")


def _unwatch(db: Session, viewer: Viewer, ticket_id: int, form: FormMultiDict) -> Done:
    tickets.unwatch(db, viewer, ticket_id)
    return Done("You stopped watching this ticket.")


ACTIONS: dict[str, ActionFn] = {
    "reply": _reply,
    "note": _note,
    "transition": _transition,
    "assign": _assign,
    "update": _update,
    "transfer": _transfer,
    "share": _share,
    "unshare": _unshare,
    "watch": _watch,
    "unwatch": _unwatch,
}


def _changed_meanwhile(db: Session, viewer: Viewer, ticket_id: int) -> str:
    events = AuditRepository(db).ticket_events(ticket_id)
    other = next((e for e in reversed(events) if e.actor_id != viewer.id and e.actor is not None), None)
    who = other.actor.name if other is not None and other.actor is not None else "Someone"
    return f"{who} changed this ticket while you were writing — check the latest activity."


def _visible(db: Session, viewer: Viewer, ticket_id: int) -> bool:
    repo = TicketRepository(db)
    ticket = repo.get(ticket_id)
    if ticket is None:
        return False
    return bool(policy.ticket_access(viewer, ticket, repo.shares(ticket_id)))


def _take(
    request: Request[Any, Any, Any], db: Session, viewer: Viewer, form: FormMultiDict, ticket_id: int
) -> Response[Any]:
    """Quick assignment from a list row: htmx gets the re-rendered row back."""
    ticket = tickets.assign(db, viewer, ticket_id, viewer.id, expected_version=optional_version(form))
    flash = Flash("success", f"{ticket.reference} is now assigned to you.")
    back = _safe_back(text(form, "back"), f"/console/tickets/{ticket.number}")
    if not is_htmx(request):
        return redirect(back, flash=flash)
    _fresh(db)
    row_mode = "mywork" if text(form, "row") == "mywork" else "backlog"
    return _fragment(
        request,
        viewer,
        "_row.html.j2",
        flashes=[flash],
        t=TicketRepository(db).get(ticket_id),
        row_mode=row_mode,
        back=back,
        row_only=True,
    )


@post("/console/tickets/{number:int}/{action:str}", include_in_schema=False, sync_to_thread=True)
def ticket_action(
    request: Request[Any, Any, Any],
    db: DbSession,
    viewer: CurrentViewer,
    form: FormData,
    number: FromPath[int],
    action: FromPath[str],
) -> Response[Any]:
    policy.require_agent(viewer)
    run = ACTIONS.get(action)
    ticket = TicketRepository(db).get_by_number(number)
    if ticket is None or (run is None and action != "take"):
        raise NotFound("No such ticket action.")
    ticket_id, version_before = ticket.id, ticket.version
    if run is None:
        return _take(request, db, viewer, form, ticket_id)
    tab = _tab(text(form, "tab"))
    try:
        done = run(db, viewer, ticket_id, form)
    except ValidationFailed as exc:
        db.rollback()  # nothing half-written, and the page below reads the unchanged ticket
        ctx = _ticket_context(
            db,
            viewer,
            ticket_id,
            tab=tab,
            errors=exc.fields or {"_": exc.detail},
            values={k: text(form, k) for k in form},
            failed=action,
        )
        flashes = [Flash("error", exc.detail)]
        if is_htmx(request):
            return _fragment(
                request,
                viewer,
                "_ticket_update.html.j2",
                status_code=422,
                flashes=flashes,
                refresh_messages=action in MESSAGE_ACTIONS,
                **ctx,
            )
        return _page(
            request,
            db,
            viewer,
            "ticket.html.j2",
            active=_ticket_nav(ctx["view"]),
            status_code=422,
            flashes=flashes,
            **ctx,
        )

    _fresh(db)
    flashes = [Flash(done.kind, done.text)]
    submitted = optional_version(form)
    if action in MESSAGE_ACTIONS and submitted is not None and submitted != version_before:
        flashes.append(Flash("info", _changed_meanwhile(db, viewer, ticket_id)))
    if action in ("transfer", "unshare") and not _visible(db, viewer, ticket_id):
        lost = Flash("success", f"{done.text} You no longer have access to HD-{number}.")
        return _hx_redirect("/console", lost) if is_htmx(request) else redirect("/console", flash=lost)
    if not is_htmx(request):
        anchor = "#latest" if action in MESSAGE_ACTIONS else ""
        suffix = f"?tab={tab}" if tab != "all" else ""
        flash = flashes[-1] if len(flashes) == 1 else Flash("info", f"{done.text} {flashes[-1].text}")
        return redirect(f"/console/tickets/{number}{suffix}{anchor}", flash=flash)
    ctx = _ticket_context(db, viewer, ticket_id, tab=tab)
    return _fragment(
        request,
        viewer,
        "_ticket_update.html.j2",
        flashes=flashes,
        refresh_messages=action in MESSAGE_ACTIONS,
        **ctx,
    )


routes = [
    my_work_page,
    team_backlog,
    bulk_update,
    save_filter,
    delete_filter,
    ticket_page,
    ticket_action,
]
