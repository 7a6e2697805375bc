"""Ticket use cases. Each one locks the row, validates, applies, and records its events
(TicketEvent + outbox) in the caller's transaction — the one write path (ARCHITECTURE rule 1)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.audit.service import record
from helpdesk.clock import Clock, system_clock
from helpdesk.errors import Conflict, InvalidTransition, NotFound, PreconditionFailed, ValidationFailed
from helpdesk.events.types import EventType
from helpdesk.identity.models import User
from helpdesk.identity.policy import Access, Action, require
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.models import (
    Category,
    Channel,
    IdempotencyKey,
    SharePermission,
    Status,
    StatusCategory,
    Ticket,
    TicketShare,
    TicketWatcher,
)
from helpdesk.tickets.repository import TicketRepository
from helpdesk.tickets.validation import (
    Errors,
    clean_body,
    clean_priority,
    clean_subject,
    clean_tags,
    clean_template_fields,
)


@dataclass
class NewTicket:
    subject: str
    description: str
    category_id: int | None = None
    priority: int | None = None
    severity: int | None = None
    team_id: int | None = None
    requester_email: str | None = None  # agents may file on someone's behalf
    channel: Channel = Channel.PORTAL
    tags: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        body = json.dumps(
            {k: v for k, v in self.__dict__.items() if k != "channel"}, sort_keys=True, default=str
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Created:
    ticket: Ticket
    created: bool  # False when an Idempotency-Key replay returned the earlier ticket


@dataclass
class TicketChanges:
    """Safe fields a PATCH may change. None means "leave as is"."""

    subject: str | None = None
    priority: int | None = None
    severity: int | None = None
    clear_severity: bool = False
    category_id: int | None = None
    tags: list[str] | None = None


def _status(repo: TicketRepository, key: str) -> Status:
    status = repo.status_by_key(key)
    if status is None:
        raise ValidationFailed(f"Unknown status {key!r}.", fields={"status": f"Unknown status {key!r}."})
    return status


def load_for_write(
    session: Session, viewer: Viewer, ticket_id: int, action: Action, expected_version: int | None
) -> tuple[Ticket, Access]:
    repo = TicketRepository(session)
    ticket = repo.lock(ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    access = require(viewer, ticket, repo.shares(ticket_id), action)
    if expected_version is not None and expected_version != ticket.version:
        raise PreconditionFailed(
            f"{ticket.reference} was changed by someone else (version {ticket.version}, "
            f"you had {expected_version}). Reload to see the latest."
        )
    return ticket, access


def _touch(ticket: Ticket, clock: Clock) -> None:
    ticket.updated_at = clock()


# --- create -----------------------------------------------------------------------------


def create_ticket(
    session: Session,
    viewer: Viewer,
    data: NewTicket,
    *,
    idempotency_key: str | None = None,
    clock: Clock = system_clock,
) -> Created:
    repo = TicketRepository(session)
    if idempotency_key is not None:
        if not 1 <= len(idempotency_key) <= 200:
            raise ValidationFailed("Idempotency-Key must be 1 to 200 characters.")
        # Serialise concurrent requests carrying the same key for this user.
        session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"{viewer.id}:{idempotency_key}", 0)))
        )
        earlier = repo.idempotency_key(viewer.id, idempotency_key)
        if earlier is not None:
            if earlier.request_hash != data.fingerprint():
                raise Conflict("This Idempotency-Key was already used with a different request body.")
            ticket = repo.get(earlier.ticket_id)
            assert ticket is not None
            return Created(ticket, created=False)

    errors = Errors()
    subject = clean_subject(data.subject, errors)
    description = clean_body(data.description, errors)
    category: Category | None = None
    if data.category_id is not None:
        category = repo.category(data.category_id)
        if category is None or not category.is_active:
            errors.add("category_id", "Choose one of the listed categories.")
            category = None
    priority = 3
    if data.priority is not None:
        priority = clean_priority(data.priority, errors) or 3
    elif category is not None:
        priority = category.default_priority
    severity = clean_priority(data.severity, errors, "severity") if data.severity is not None else None
    tags = clean_tags(data.tags, errors)
    answers = clean_template_fields(category, data.fields, errors)

    team_id = data.team_id if data.team_id is not None else (category.team_id if category else None)
    if team_id is not None and IdentityRepository(session).team(team_id) is None:
        errors.add("team_id", "Unknown team.")

    requester: User | None = IdentityRepository(session).user(viewer.id)
    if data.requester_email and data.requester_email.strip().lower() != viewer.email.lower():
        if not viewer.is_agent:
            errors.add("requester_email", "Only agents can file a request for someone else.")
        else:
            requester = IdentityRepository(session).user_by_email(data.requester_email)
            if requester is None:
                errors.add("requester_email", "No user with that email address.")
    errors.raise_if_any()
    assert requester is not None

    now = clock()
    ticket = Ticket(
        subject=subject,
        description=description,
        category_id=category.id if category else None,
        priority=priority,
        severity=severity,
        status_id=_status(repo, "new").id,
        team_id=team_id,
        requester_id=requester.id,
        requester_department=requester.department,
        requester_location=requester.location,
        channel=data.channel,
        tags=tags,
        fields=answers,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    if idempotency_key is not None:
        session.add(
            IdempotencyKey(
                user_id=viewer.id, key=idempotency_key, request_hash=data.fingerprint(), ticket_id=ticket.id
            )
        )
    record(
        session,
        ticket_id=ticket.id,
        type=EventType.TICKET_CREATED,
        actor_id=viewer.id,
        at=now,
        data={
            "number": ticket.number,
            "subject": subject,
            "priority": priority,
            "status": "new",
            "team_id": team_id,
            "category_id": ticket.category_id,
            "channel": data.channel.value,
            "requester_id": requester.id,
        },
    )
    loaded = repo.get(ticket.id)
    assert loaded is not None
    return Created(loaded, created=True)


# --- workflow ---------------------------------------------------------------------------


def _move(
    session: Session,
    ticket: Ticket,
    target: Status,
    viewer: Viewer,
    clock: Clock,
    *,
    reason: str | None = None,
) -> None:
    before = ticket.status
    now = clock()
    ticket.status_id = target.id
    ticket.status = target
    if target.category is StatusCategory.RESOLVED:
        ticket.resolved_at = now
    elif target.category is StatusCategory.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    else:
        ticket.resolved_at = None
        ticket.closed_at = None
    ticket.updated_at = now
    data: dict[str, Any] = {
        "from": before.key,
        "to": target.key,
        "from_name": before.name,
        "to_name": target.name,
        "to_category": target.category.value,
    }
    if reason:
        data["reason"] = reason
    record(
        session,
        ticket_id=ticket.id,
        type=EventType.TICKET_STATUS_CHANGED,
        actor_id=viewer.id,
        at=now,
        data=data,
    )


def allowed_targets(session: Session, ticket: Ticket, access: Access) -> list[Status]:
    moves = TicketRepository(session).transitions_from(ticket.status_id)
    if Access.AGENT_WRITE in access:
        return [s for s, _ in moves]
    if Access.REQUESTER in access:
        return [s for s, requester_ok in moves if requester_ok]
    return []


def transition(
    session: Session,
    viewer: Viewer,
    ticket_id: int,
    to: str,
    *,
    expected_version: int | None = None,
    clock: Clock = system_clock,
) -> Ticket:
    ticket, access = load_for_write(session, viewer, ticket_id, Action.TRANSITION, expected_version)
    target = _status(TicketRepository(session), to)
    allowed = allowed_targets(session, ticket, access)
    if target.id not in {s.id for s in allowed}:
        names = ", ".join(s.name for s in allowed) or "none"
        raise InvalidTransition(
            f"Cannot move {ticket.reference} from {ticket.status.name} to {target.name}. Allowed: {names}.",
            fields={"status": f"Allowed from {ticket.status.name}: {names}."},
        )
    _move(session, ticket, target, viewer, clock)
    return ticket


def auto_move(session: Session, ticket: Ticket, to: str, viewer: Viewer, clock: Clock, reason: str) -> None:
    """A move the system makes on the agent's behalf, only where the workflow allows it."""
    repo = TicketRepository(session)
    target = repo.status_by_key(to)
    if target is not None and target.id in {s.id for s, _ in repo.transitions_from(ticket.status_id)}:
        _move(session, ticket, target, viewer, clock, reason=reason)


# --- assignment, team, fields -----------------------------------------------------------


def assign(
    session: Session,
    viewer: Viewer,
    ticket_id: int,
    assignee_id: int | None,
    *,
    expected_version: int | None = None,
    clock: Clock = system_clock,
) -> Ticket:
    ticket, _ = load_for_write(session, viewer, ticket_id, Action.ASSIGN, expected_version)
    if assignee_id == ticket.assignee_id:
        return ticket
    identity = IdentityRepository(session)
    assignee: User | None = None
    if assignee_id is not None:
        assignee = identity.user(assignee_id)
        if assignee is None or not assignee.is_active or assignee.role.value == "requester":
            raise ValidationFailed(
                "The assignee must be an active agent.", fields={"assignee_id": "Not an agent."}
            )
        if ticket.team_id is None:
            raise ValidationFailed(
                "Set the owning team before assigning.", fields={"assignee_id": "Set a team first."}
            )
        if not identity.is_member(ticket.team_id, assignee.id):
            raise ValidationFailed(
                f"{assignee.name} is not a member of the owning team.",
                fields={"assignee_id": "Not a member of the owning team."},
            )
    before = ticket.assignee_id
    ticket.assignee_id = assignee_id
    now = clock()
    _touch(ticket, lambda: now)
    record(
        session,
        ticket_id=ticket.id,
        type=EventType.TICKET_ASSIGNED,
        actor_id=viewer.id,
        at=now,
        data={"from": before, "to": assignee_id, "to_name": assignee.name if assignee else None},
    )
    if assignee_id is not None and ticket.status.key in ("new", "triaged", "reopened"):
        auto_move(session, ticket, "assigned", viewer, clock, "assigned")
    if assignee_id is not None:
        _ensure_watcher(session, ticket, assignee_id, viewer, now)
    return ticket


def transfer(
    session: Session,
    viewer: Viewer,
    ticket_id: int,
    team_id: int,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
    clock: Clock = system_clock,
) -> Ticket:
    """Change the owning team; the assignee is kept only if they belong to the new team."""
    ticket, _ = load_for_write(session, viewer, ticket_id, Action.TRANSFER, expected_version)
    identity = IdentityRepository(session)
    team = identity.team(team_id)
    if team is None or not team.is_active:
        raise ValidationFailed("Unknown team.", fields={"team_id": "Choose one of the listed teams."})
    if team.id == ticket.team_id:
        return ticket
    before = ticket.team_id
    now = clock()
    ticket.team_id = team.id
    data: dict[str, Any] = {"from": before, "to": team.id, "to_name": team.name}
    if reason:
        data["reason"] = reason[:500]
    if ticket.assignee_id is not None and not identity.is_member(team.id, ticket.assignee_id):
        data["unassigned"] = ticket.assignee_id
        ticket.assignee_id = None
    _touch(ticket, lambda: now)
    record(
        session, ticket_id=ticket.id, type=EventType.TICKET_TRANSFERRED, actor_id=viewer.id, at=now, data=data
    )
    if ("unassigned" in data and ticket.status.key == "assigned") or ticket.status.key == "new":
        auto_move(session, ticket, "triaged", viewer, clock, "transferred")
    return ticket


def update(
    session: Session,
    viewer: Viewer,
    ticket_id: int,
    changes: TicketChanges,
    *,
    expected_version: int | None = None,
    clock: Clock = system_clock,
) -> Ticket:
    ticket, _ = load_for_write(session, viewer, ticket_id, Action.EDIT, expected_version)
    repo = TicketRepository(session)
    errors = Errors()
    diff: dict[str, dict[str, Any]] = {}
    if changes.subject is not None:
        subject = clean_subject(changes.subject, errors)
        if subject and subject != ticket.subject:
            diff["subject"] = {"from": ticket.subject, "to": subject}
    if changes.priority is not None:
        priority = clean_priority(changes.priority, errors)
        if priority is not None and priority != ticket.priority:
            diff["priority"] = {"from": ticket.priority, "to": priority}
    if changes.clear_severity and ticket.severity is not None:
        diff["severity"] = {"from": ticket.severity, "to": None}
    elif changes.severity is not None:
        severity = clean_priority(changes.severity, errors, "severity")
        if severity is not None and severity != ticket.severity:
            diff["severity"] = {"from": ticket.severity, "to": severity}
    if changes.category_id is not None and changes.category_id != ticket.category_id:
        category = repo.category(changes.category_id)
        if category is None or not category.is_active:
            errors.add("category_id", "Choose one of the listed categories.")
        else:
            diff["category_id"] = {"from": ticket.category_id, "to": category.id, "to_name": category.name}
    if changes.tags is not None:
        tags = clean_tags(changes.tags, errors)
        if tags != list(ticket.tags):
            diff["tags"] = {"from": list(ticket.tags), "to": tags}
    errors.raise_if_any()
    if not diff:
        return ticket
    for name, change in diff.items():
        setattr(ticket, name, change["to"])
    now = clock()
    _touch(ticket, lambda: now)
    record(session, ticket_id=ticket.id, type=EventType.TICKET_UPDATED, actor_id=viewer.id, at=now, data=diff)
    return ticket


def add_tag(
    session: Session, viewer: Viewer, ticket_id: int, tag: str, *, clock: Clock = system_clock
) -> Ticket:
    ticket = TicketRepository(session).get(ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    return update(session, viewer, ticket_id, TicketChanges(tags=[*ticket.tags, tag]), clock=clock)


# --- watchers and shares ----------------------------------------------------------------


def _ensure_watcher(session: Session, ticket: Ticket, user_id: int, viewer: Viewer, now: Any) -> bool:
    if TicketRepository(session).watcher(ticket.id, user_id) is not None:
        return False
    session.add(TicketWatcher(ticket_id=ticket.id, user_id=user_id))
    record(
        session,
        ticket_id=ticket.id,
        type=EventType.TICKET_WATCHER_ADDED,
        actor_id=viewer.id,
        at=now,
        data={"user_id": user_id},
    )
    return True


def watch(
    session: Session,
    viewer: Viewer,
    ticket_id: int,
    user_id: int | None = None,
    *,
    clock: Clock = system_clock,
) -> Ticket:
    ticket, _ = load_for_write(session, viewer, ticket_id, Action.WATCH, None)
    target = user_id or viewer.id
    user = IdentityRepository(session).user(target)
    if user is None or not user.is_active or user.role.value == "requester":
        raise ValidationFailed("Only agents can watch tickets.", fields={"user_id": "Not an agent."})
    if _ensure_watcher(session, ticket, target, viewer, clock()):
        _touch(ticket, clock)
    return ticket


def unwatch(
    session: Session,
    viewer: Viewer,
    ticket_id: int,
    user_id: int | None = None,
    *,
    clock: Clock = system_clock,
) -> Ticket:
    ticket, _ = load_for_write(session, viewer, ticket_id, Action.WATCH, None)
    watcher = TicketRepository(session).watcher(ticket.id, user_id or viewer.id)
    if watcher is not None:
        session.delete(watcher)
        now = clock()
        _touch(ticket, lambda: now)
        record(
            session,
            ticket_id=ticket.id,
            type=EventType.TICKET_WATCHER_REMOVED,
            actor_id=viewer.id,
            at=now,
            data={"user_id": watcher.user_id},
        )
    return ticket


def share(
    session: Session,
    viewer: Viewer,
    ticket_id: int,
    *,
    team_id: int | None = None,
    user_email: str | None = None,
    permission: SharePermission = SharePermission.READ,
    clock: Clock = system_clock,
) -> Ticket:
    ticket, _ = load_for_write(session, viewer, ticket_id, Action.SHARE, None)
    identity = IdentityRepository(session)
    repo = TicketRepository(session)
    existing = repo.shares(ticket.id)
    data: dict[str, Any] = {"permission": permission.value}
    if (team_id is None) == (not user_email):
        raise ValidationFailed(
            "Share with either a team or a person.", fields={"team_id": "Pick a team or a person."}
        )
    if team_id is not None:
        team = identity.team(team_id)
        if team is None:
            raise ValidationFailed("Unknown team.", fields={"team_id": "Choose one of the listed teams."})
        if team.id == ticket.team_id:
            raise ValidationFailed(
                "The owning team already has access.", fields={"team_id": "Already the owner."}
            )
        found = next((s for s in existing if s.team_id == team.id), None)
        if found is not None:
            if found.permission == permission:
                return ticket
            found.permission = permission
        else:
            session.add(
                TicketShare(
                    ticket_id=ticket.id, team_id=team.id, permission=permission, created_by_id=viewer.id
                )
            )
        data.update(team_id=team.id, team_name=team.name)
    else:
        assert user_email is not None
        person = identity.user_by_email(user_email)
        if person is None:
            raise ValidationFailed(
                "No user with that email address.", fields={"user_email": "Unknown person."}
            )
        if any(s.user_id == person.id for s in existing) or person.id == ticket.requester_id:
            return ticket
        # People (as opposed to teams) get read access to the public conversation only.
        session.add(
            TicketShare(
                ticket_id=ticket.id,
                user_id=person.id,
                permission=SharePermission.READ,
                created_by_id=viewer.id,
            )
        )
        data.update(user_id=person.id, user_name=person.name, permission=SharePermission.READ.value)
    now = clock()
    _touch(ticket, lambda: now)
    record(session, ticket_id=ticket.id, type=EventType.TICKET_SHARED, actor_id=viewer.id, at=now, data=data)
    return ticket


def unshare(
    session: Session, viewer: Viewer, ticket_id: int, share_id: int, *, clock: Clock = system_clock
) -> Ticket:
    ticket, _ = load_for_write(session, viewer, ticket_id, Action.SHARE, None)
    found = next((s for s in TicketRepository(session).shares(ticket.id) if s.id == share_id), None)
    if found is None:
        raise NotFound("No such share.")
    session.delete(found)
    now = clock()
    _touch(ticket, lambda: now)
    record(
        session,
        ticket_id=ticket.id,
        type=EventType.TICKET_UNSHARED,
        actor_id=viewer.id,
        at=now,
        data={"team_id": found.team_id, "user_id": found.user_id},
    )
    return ticket
