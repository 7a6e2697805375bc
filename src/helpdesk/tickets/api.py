"""JSON API for tickets under /api/v1.

Thin controllers: decode the body (schemas.py), call a service or read model, return a DTO.
Access control lives in the services, ticket_view and TicketRepository.page (identity/policy);
errors are rendered as {"error", "detail"} by web/errors.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Response, Router, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlalchemy.orm import Session

from helpdesk.errors import DomainError, NotFound, ValidationFailed
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging import service as messaging
from helpdesk.messaging.models import Visibility
from helpdesk.tickets import service as tickets
from helpdesk.tickets.filters import BIGINT_MAX, MAX_PAGE_SIZE, PAGE_SIZE, Cursor, TicketFilters
from helpdesk.tickets.models import Channel, SharePermission, Ticket
from helpdesk.tickets.repository import TicketRepository
from helpdesk.tickets.schemas import (
    AssignIn,
    ErrorOut,
    EventOut,
    MessageIn,
    MessageOut,
    NoteIn,
    ShareIn,
    TicketCreate,
    TicketDetailOut,
    TicketOut,
    TicketPageOut,
    TicketPatch,
    TransferIn,
    TransitionIn,
    event_out,
    message_out,
    ticket_fields,
    ticket_out,
)
from helpdesk.tickets.validation import Errors, clean_priority
from helpdesk.tickets.views import ticket_view
from helpdesk.web.deps import CurrentViewer, DbSession

TicketId = Annotated[
    int, PathParameter(ge=1, le=BIGINT_MAX, description="The ticket's id (not its HD- number).")
]
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        max_length=100,
        description='The version you last saw, as its ETag ("3"); a stale one is refused with 412.',
    ),
]

_ERRORS = {
    status: ResponseSpec(data_container=ErrorOut, description=text, generate_examples=False)
    for status, text in {
        400: "Malformed JSON, a wrong type, an unknown field, or a value out of range.",
        401: "Not signed in, or the bearer token is not valid.",
        403: "Not allowed on this ticket, or a missing CSRF token with a browser session.",
        404: "No such ticket (also when you may not see it).",
        409: "A conflict, e.g. a workflow move that is not allowed from the current status.",
        422: "The values broke a rule; `fields` says which.",
    }.items()
}
_VERSIONED = {
    **_ERRORS,
    412: ResponseSpec(ErrorOut, description="If-Match was stale.", generate_examples=False),
}
_ETAG = [ResponseHeader(name="ETag", description='The ticket version, e.g. "3".', documentation_only=True)]


# --- input helpers ----------------------------------------------------------------------


def _version(if_match: str | None, body_version: int | None = None) -> int | None:
    """If-Match takes the ETag we send ("3"), a bare 3, or a weak W/"3"; * means any version."""
    if body_version is not None:
        return body_version
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip().strip('"')
    if value == "*":
        return None
    if not value.isdigit() or len(value) > 9:
        raise DomainError('If-Match must be the ticket version from its ETag, e.g. "3".')
    return int(value)


def _level(value: str | int | None, field: str, errors: Errors) -> int | None:
    return None if value is None else clean_priority(value, errors, field)


def _ticket_response(db: Session, ticket_id: int, status_code: int = 200) -> Response[TicketOut]:
    ticket = TicketRepository(db).get(ticket_id)  # flushes, so the version is the new one
    if ticket is None:
        raise NotFound("No such ticket.")
    return Response(ticket_out(ticket), status_code=status_code, headers={"ETag": _etag(ticket)})


def _etag(ticket: Ticket) -> str:
    return f'"{ticket.version}"'


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


# --- create and list --------------------------------------------------------------------


@post(
    "/tickets",
    sync_to_thread=True,
    summary="Create a ticket",
    responses={
        **_ERRORS,
        200: ResponseSpec(
            TicketOut,
            description="A replay: the ticket made by the first request with this key.",
            generate_examples=False,
        ),
    },
    response_headers=_ETAG,
    description="201 with the new ticket. With an `Idempotency-Key` header a repeat of the same "
    "request returns the same ticket with 200; the same key with a different body is a 409.",
)
def create_ticket(
    db: DbSession,
    viewer: CurrentViewer,
    data: JSONBody[TicketCreate],
    idempotency_key: Annotated[
        str | None,
        HeaderParameter(name="Idempotency-Key", description="1 to 200 characters, unique per request."),
    ] = None,
) -> Response[TicketOut]:
    errors = Errors()
    priority = _level(data.priority, "priority", errors)
    severity = _level(data.severity, "severity", errors)
    errors.raise_if_any()
    new = tickets.NewTicket(
        subject=data.subject,
        description=data.description,
        category_id=data.category_id,
        priority=priority,
        severity=severity,
        team_id=data.team_id,
        requester_email=data.requester_email,
        channel=Channel.API,
        tags=list(data.tags),
        fields=dict(data.fields),
    )
    result = tickets.create_ticket(db, viewer, new, idempotency_key=idempotency_key)
    response = _ticket_response(db, result.ticket.id, status_code=201 if result.created else 200)
    response.headers["Location"] = f"/api/v1/tickets/{result.ticket.id}"
    return response


def _filters(
    db: Session,
    viewer: Viewer,
    *,
    mine: bool,
    status: list[str] | None,
    state: str | None,
    team_id: int | None,
    assignee_id: str | None,
    priority: list[str] | None,
    category_id: int | None,
    tag: str | None,
    q: str | None,
    limit: int,
) -> TicketFilters:
    errors = Errors()
    keys = _split(status)
    known = {s.key for s in TicketRepository(db).statuses()}
    unknown = [k for k in keys if k not in known]
    if unknown:
        errors.add("status", f"Unknown status {unknown[0]!r}. Known: {', '.join(sorted(known))}.")
    priorities = tuple(p for p in (clean_priority(v, errors) for v in _split(priority)) if p is not None)
    assignee: int | None = None
    unassigned = False
    who = (assignee_id or "").strip().lower()
    if who == "me":
        assignee = viewer.id
    elif who == "none":
        unassigned = True
    elif who:
        if not who.isdigit() or not 1 <= int(who) <= BIGINT_MAX:
            errors.add("assignee_id", 'Use a user id, "me" or "none".')
        else:
            assignee = int(who)
    errors.raise_if_any()
    return TicketFilters(
        mine=mine,
        state=None if state == "all" else state,
        status_keys=tuple(dict.fromkeys(keys)),
        team_id=team_id,
        assignee_id=assignee,
        unassigned=unassigned,
        priorities=tuple(dict.fromkeys(priorities)),
        category_id=category_id,
        tag=tag.strip().lower() if tag and tag.strip() else None,
        q=q.strip() if q and q.strip() else None,
        limit=limit,
    )


def _cursor(value: str | None) -> Cursor | None:
    if not value:
        return None
    cursor = Cursor.decode(value)
    if not 1 <= cursor.id <= BIGINT_MAX:
        raise ValidationFailed("The cursor is not valid.", fields={"cursor": "Not a valid cursor."})
    return cursor


@get(
    "/tickets",
    sync_to_thread=True,
    summary="List tickets you may see",
    responses=_ERRORS,
    description="Newest activity first, keyset-paginated: pass `next_cursor` back as `cursor`.",
)
def list_tickets(
    db: DbSession,
    viewer: CurrentViewer,
    mine: Annotated[bool, QueryParameter(description="Only tickets you requested.")] = False,
    status: Annotated[
        list[str] | None,
        QueryParameter(
            description="Status keys; repeat the parameter or separate with commas.", max_items=20
        ),
    ] = None,
    state_filter: Annotated[
        Literal["open", "closed", "all"] | None,
        QueryParameter(
            name="state", description="open = not resolved or closed; closed = resolved or closed."
        ),
    ] = None,
    team_id: Annotated[int | None, QueryParameter(ge=1, le=BIGINT_MAX)] = None,
    assignee_id: Annotated[
        str | None, QueryParameter(max_length=20, description='A user id, "me", or "none" for unassigned.')
    ] = None,
    priority: Annotated[
        list[str] | None,
        QueryParameter(description="P1..P4 or 1..4; repeat or separate with commas.", max_items=8),
    ] = None,
    category_id: Annotated[
        int | None, QueryParameter(ge=1, le=BIGINT_MAX, description="Includes its sub-categories.")
    ] = None,
    tag: Annotated[str | None, QueryParameter(max_length=100)] = None,
    q: Annotated[
        str | None, QueryParameter(max_length=200, description="Full-text search, or a ticket number.")
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> TicketPageOut:
    filters = _filters(
        db,
        viewer,
        mine=mine,
        status=status,
        state=state_filter,
        team_id=team_id,
        assignee_id=assignee_id,
        priority=priority,
        category_id=category_id,
        tag=tag,
        q=q,
        limit=limit,
    )
    page = TicketRepository(db).page(viewer, filters, _cursor(cursor))
    return TicketPageOut(items=[ticket_out(t) for t in page.tickets], next_cursor=page.next_cursor)


# --- one ticket -------------------------------------------------------------------------


@get(
    "/tickets/{ticket_id:int}",
    sync_to_thread=True,
    summary="A ticket with its conversation",
    responses=_ERRORS,
    response_headers=_ETAG,
)
def get_ticket(db: DbSession, viewer: CurrentViewer, ticket_id: TicketId) -> Response[TicketDetailOut]:
    view = ticket_view(db, viewer, ticket_id)
    body = TicketDetailOut(
        **ticket_fields(view.ticket),
        messages=[message_out(m) for m in view.messages],
        transitions=[s.key for s in view.transitions],
    )
    return Response(body, headers={"ETag": _etag(view.ticket)})


@get(
    "/tickets/{ticket_id:int}/events",
    sync_to_thread=True,
    summary="The ticket's timeline",
    responses=_ERRORS,
    description="Requesters get the subset of the timeline the portal shows them.",
)
def ticket_events(db: DbSession, viewer: CurrentViewer, ticket_id: TicketId) -> list[EventOut]:
    return [event_out(e) for e in ticket_view(db, viewer, ticket_id).events]


@patch(
    "/tickets/{ticket_id:int}",
    sync_to_thread=True,
    summary="Change safe fields",
    responses=_VERSIONED,
    response_headers=_ETAG,
    description="subject, priority, severity (null clears), category_id, tags. "
    "The status changes only through POST /tickets/{id}/transition.",
)
def update_ticket(
    db: DbSession,
    viewer: CurrentViewer,
    ticket_id: TicketId,
    data: JSONBody[TicketPatch],
    if_match: IfMatch = None,
) -> Response[TicketOut]:
    if data.status is not msgspec.UNSET:
        raise ValidationFailed(
            f"The status cannot be PATCHed; use POST /api/v1/tickets/{ticket_id}/transition.",
            fields={"status": "Use the transition endpoint."},
        )
    errors = Errors()
    changes = tickets.TicketChanges()
    if not isinstance(data.subject, msgspec.UnsetType):
        changes.subject = data.subject
    if not isinstance(data.priority, msgspec.UnsetType):
        changes.priority = _level(data.priority, "priority", errors)
    if data.severity is None:
        changes.clear_severity = True
    elif not isinstance(data.severity, msgspec.UnsetType):
        changes.severity = _level(data.severity, "severity", errors)
    if not isinstance(data.category_id, msgspec.UnsetType):
        changes.category_id = data.category_id
    if not isinstance(data.tags, msgspec.UnsetType):
        changes.tags = list(data.tags)
    errors.raise_if_any()
    tickets.update(db, viewer, ticket_id, changes, expected_version=_version(if_match))
    return _ticket_response(db, ticket_id)


# --- workflow and collaboration ---------------------------------------------------------


@post(
    "/tickets/{ticket_id:int}/transition",
    sync_to_thread=True,
    status_code=200,
    summary="Move the ticket to another status",
    responses=_VERSIONED,
    response_headers=_ETAG,
)
def transition_ticket(
    db: DbSession,
    viewer: CurrentViewer,
    ticket_id: TicketId,
    data: JSONBody[TransitionIn],
    if_match: IfMatch = None,
) -> Response[TicketOut]:
    tickets.transition(db, viewer, ticket_id, data.to, expected_version=_version(if_match, data.version))
    return _ticket_response(db, ticket_id)


def _post_message(
    db: Session, viewer: Viewer, ticket_id: int, body: str, visibility: Visibility, **kwargs: Any
) -> MessageOut:
    message = messaging.add_message(
        db, viewer, ticket_id, body, visibility=visibility, channel=Channel.API, **kwargs
    )
    return message_out(message, author_email=viewer.email)


@post(
    "/tickets/{ticket_id:int}/messages",
    sync_to_thread=True,
    summary="Add a public reply",
    responses=_VERSIONED,
)
def add_reply(
    db: DbSession,
    viewer: CurrentViewer,
    ticket_id: TicketId,
    data: JSONBody[MessageIn],
    if_match: IfMatch = None,
) -> MessageOut:
    return _post_message(
        db,
        viewer,
        ticket_id,
        data.body,
        Visibility.PUBLIC,
        then_status=data.then_status,
        expected_version=_version(if_match, data.version),
    )


@post(
    "/tickets/{ticket_id:int}/notes",
    sync_to_thread=True,
    summary="Add an internal note (agents)",
    responses=_VERSIONED,
)
def add_note(
    db: DbSession,
    viewer: CurrentViewer,
    ticket_id: TicketId,
    data: JSONBody[NoteIn],
    if_match: IfMatch = None,
) -> MessageOut:
    return _post_message(
        db,
        viewer,
        ticket_id,
        data.body,
        Visibility.INTERNAL,
        expected_version=_version(if_match, data.version),
    )


@post(
    "/tickets/{ticket_id:int}/transfer",
    sync_to_thread=True,
    status_code=200,
    summary="Change the owning team",
    responses=_VERSIONED,
    response_headers=_ETAG,
)
def transfer_ticket(
    db: DbSession,
    viewer: CurrentViewer,
    ticket_id: TicketId,
    data: JSONBody[TransferIn],
    if_match: IfMatch = None,
) -> Response[TicketOut]:
    tickets.transfer(
        db,
        viewer,
        ticket_id,
        data.team_id,
        reason=data.reason,
        expected_version=_version(if_match, data.version),
    )
    return _ticket_response(db, ticket_id)


@post(
    "/tickets/{ticket_id:int}/share",
    sync_to_thread=True,
    status_code=200,
    summary="Share with a team or a person",
    responses=_ERRORS,
    response_headers=_ETAG,
)
def share_ticket(
    db: DbSession, viewer: CurrentViewer, ticket_id: TicketId, data: JSONBody[ShareIn]
) -> Response[TicketOut]:
    tickets.share(
        db,
        viewer,
        ticket_id,
        team_id=data.team_id,
        user_email=data.user_email,
        permission=SharePermission(data.permission),
    )
    return _ticket_response(db, ticket_id)


@post(
    "/tickets/{ticket_id:int}/assign",
    sync_to_thread=True,
    status_code=200,
    summary="Assign to an agent of the owning team, or unassign",
    responses=_VERSIONED,
    response_headers=_ETAG,
)
def assign_ticket(
    db: DbSession,
    viewer: CurrentViewer,
    ticket_id: TicketId,
    data: JSONBody[AssignIn],
    if_match: IfMatch = None,
) -> Response[TicketOut]:
    tickets.assign(db, viewer, ticket_id, data.assignee_id, expected_version=_version(if_match, data.version))
    return _ticket_response(db, ticket_id)


router = Router(
    path="/api/v1",
    tags=["tickets"],
    route_handlers=[
        create_ticket,
        list_tickets,
        get_ticket,
        ticket_events,
        update_ticket,
        transition_ticket,
        add_reply,
        add_note,
        transfer_ticket,
        share_ticket,
        assign_ticket,
    ],
)
