"""msgspec types of the tickets JSON API: request bodies, responses, and the converters that
turn loaded ORM rows into them.

Bodies reject unknown fields and cap every string, list and id so hostile input is refused by
the decoder (400) before it reaches a service; the services then apply the product's own
rules (subject length, priority range, ...) and answer 422 with per-field messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from helpdesk.audit.models import TicketEvent
from helpdesk.messaging.models import TicketMessage
from helpdesk.tickets.filters import BIGINT_MAX
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.validation import DESCRIPTION_MAX, FIELD_VALUE_MAX, SUBJECT_MAX, TAG_MAX, TAGS_MAX

Id = Annotated[int, Meta(ge=1, le=BIGINT_MAX, description="A database id.")]
# Generous hard caps; the exact product limits are enforced (with friendly messages) by the services.
Subject = Annotated[str, Meta(max_length=SUBJECT_MAX * 5, examples=["VPN drops every few minutes"])]
Body = Annotated[str, Meta(max_length=DESCRIPTION_MAX * 2)]
Email = Annotated[str, Meta(max_length=320, examples=["employee@example.com"])]
Tag = Annotated[str, Meta(max_length=TAG_MAX * 2)]
Tags = Annotated[list[Tag], Meta(max_length=TAGS_MAX * 2, examples=[["vpn", "remote"]])]
FieldValue = Annotated[str, Meta(max_length=FIELD_VALUE_MAX * 2)] | int | float | bool | None
Fields = Annotated[dict[Annotated[str, Meta(max_length=100)], FieldValue], Meta(max_length=100)]
StatusKey = Annotated[str, Meta(min_length=1, max_length=40, examples=["in_progress"])]
Level = Annotated[
    Annotated[str, Meta(max_length=10)] | int,
    Meta(description='"P1".."P4" or 1..4 (1 is the most urgent).', examples=["P2"]),
]
Version = Annotated[int, Meta(ge=1, le=2**31 - 1, description="The ticket version you last saw.")]


class _Body(Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are an error, not silently ignored."""


# --- request bodies ---------------------------------------------------------------------


class TicketCreate(_Body):
    subject: Subject
    description: Body
    category_id: Id | None = None
    priority: Level | None = None
    severity: Level | None = None
    team_id: Id | None = None
    requester_email: Annotated[
        Email | None, Meta(description="Agents only: file the request on someone's behalf.")
    ] = None
    tags: Tags = msgspec.field(default_factory=list)
    fields: Annotated[Fields, Meta(description="Answers to the category's template fields.")] = msgspec.field(
        default_factory=dict
    )


class TicketPatch(_Body):
    """Safe fields only; an absent field is left as it is. The status changes through /transition."""

    subject: Subject | UnsetType = UNSET
    priority: Level | UnsetType = UNSET
    severity: Annotated[Level | None, Meta(description="null clears the severity.")] | UnsetType = UNSET
    category_id: Id | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    # Accepted by the decoder only so the API can answer with a helpful 422.
    status: Annotated[Any, Meta(description="Not allowed here: use POST /tickets/{id}/transition.")] = UNSET


class TransitionIn(_Body):
    to: StatusKey
    version: Version | None = None


class MessageIn(_Body):
    body: Body
    then_status: Annotated[
        StatusKey | None, Meta(description="Agents: move the ticket to this status after replying.")
    ] = None
    version: Version | None = None


class NoteIn(_Body):
    body: Body
    version: Version | None = None


class TransferIn(_Body):
    team_id: Id
    reason: Annotated[str, Meta(max_length=500)] | None = None
    version: Version | None = None


class ShareIn(_Body):
    """Share with a team (read or write) or with one person (always read)."""

    team_id: Id | None = None
    user_email: Email | None = None
    permission: Literal["read", "write"] = "read"


class AssignIn(_Body):
    assignee_id: Annotated[Id | None, Meta(description="An agent of the owning team; null unassigns.")]
    version: Version | None = None


# --- responses --------------------------------------------------------------------------


class ErrorOut(Struct, kw_only=True):
    error: str
    detail: str
    fields: dict[str, str] | UnsetType = UNSET


class TicketOut(Struct, kw_only=True):
    id: int
    number: int
    reference: Annotated[str, Meta(examples=["HD-1042"])]
    subject: str
    description: str
    status: Annotated[str, Meta(description="Status key, e.g. in_progress.")]
    status_name: str
    status_category: Literal["new", "open", "pending", "resolved", "closed"]
    priority: Literal["P1", "P2", "P3", "P4"]
    severity: Annotated[int | None, Meta(description="1..4, or null when not set.")]
    team: Annotated[str | None, Meta(description="The owning team's slug.")]
    team_id: int | None
    assignee: Annotated[str | None, Meta(description="The assignee's email.")]
    assignee_id: int | None
    requester: Annotated[str, Meta(description="The requester's email.")]
    requester_id: int
    category: Annotated[str | None, Meta(description="The category's name.")]
    category_id: int | None
    channel: Literal["portal", "email", "api"]
    tags: list[str]
    fields: dict[str, Any]
    version: Annotated[int, Meta(description="Send it back in If-Match to guard against lost updates.")]
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


class MessageOut(Struct, kw_only=True):
    id: int
    visibility: Literal["public", "internal"]
    author: Annotated[str | None, Meta(description="The author's email.")]
    body: str
    channel: str
    created_at: datetime


class TicketDetailOut(TicketOut, kw_only=True):
    messages: Annotated[list[MessageOut], Meta(description="Requesters only ever see public replies.")]
    transitions: Annotated[list[str], Meta(description="Status keys you may move this ticket to.")]


class TicketPageOut(Struct, kw_only=True):
    items: list[TicketOut]
    next_cursor: Annotated[str | None, Meta(description="Pass as ?cursor= for the next page.")]


class EventOut(Struct, kw_only=True):
    id: int
    type: Annotated[str, Meta(examples=["ticket.status_changed"])]
    actor: Annotated[str | None, Meta(description="The actor's email; null for the system.")]
    at: datetime
    data: dict[str, Any]


# --- converters (relationships must already be loaded by the repository) -----------------


def ticket_fields(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id,
        "number": t.number,
        "reference": t.reference,
        "subject": t.subject,
        "description": t.description,
        "status": t.status.key,
        "status_name": t.status.name,
        "status_category": t.status.category.value,
        "priority": f"P{t.priority}",
        "severity": t.severity,
        "team": t.team.slug if t.team else None,
        "team_id": t.team_id,
        "assignee": t.assignee.email if t.assignee else None,
        "assignee_id": t.assignee_id,
        "requester": t.requester.email,
        "requester_id": t.requester_id,
        "category": t.category.name if t.category else None,
        "category_id": t.category_id,
        "channel": t.channel.value,
        "tags": list(t.tags),
        "fields": dict(t.fields),
        "version": t.version,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "first_response_at": t.first_response_at,
        "resolved_at": t.resolved_at,
        "closed_at": t.closed_at,
    }


def ticket_out(t: Ticket) -> TicketOut:
    return TicketOut(**ticket_fields(t))


def message_out(m: TicketMessage, author_email: str | None = None) -> MessageOut:
    """author_email names the author when the relationship was not loaded (a message just written)."""
    return MessageOut(
        id=m.id,
        visibility=m.visibility.value,
        author=author_email if author_email is not None else (m.author.email if m.author else None),
        body=m.body,
        channel=m.channel.value,
        created_at=m.created_at,
    )


def event_out(e: TicketEvent) -> EventOut:
    return EventOut(
        id=e.id, type=e.type, actor=e.actor.email if e.actor else None, at=e.at, data=dict(e.data)
    )
