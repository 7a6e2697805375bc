"""Bulk actions from the backlog: every ticket goes through the ordinary services, one by one,
in the caller's transaction. A ticket that cannot be changed is skipped (its savepoint rolled
back) and reported; the others keep their changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from helpdesk.clock import Clock, system_clock
from helpdesk.errors import DomainError
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets import service as tickets
from helpdesk.tickets.repository import TicketRepository
from helpdesk.tickets.validation import Errors, clean_priority, clean_tags

MAX_TICKETS = 200


@dataclass(frozen=True)
class BulkChanges:
    assign: bool = False  # when True, assignee_id is applied (None = unassign)
    assignee_id: int | None = None
    priority: int | None = None
    tag: str | None = None

    @property
    def empty(self) -> bool:
        return not self.assign and self.priority is None and not self.tag


@dataclass(frozen=True)
class Skipped:
    reference: str | None  # None when the viewer may not even see the ticket
    reason: str


@dataclass
class BulkResult:
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def summary(self, shown: int = 3) -> str:
        parts = [f"{len(self.updated)} updated"]
        if self.unchanged:
            parts.append(f"{len(self.unchanged)} already up to date")
        if self.skipped:
            reasons = [
                f"{s.reference}: {s.reason}" if s.reference else s.reason for s in self.skipped[:shown]
            ]
            if len(self.skipped) > shown:
                reasons.append(f"and {len(self.skipped) - shown} more")
            parts.append(f"{len(self.skipped)} skipped ({'; '.join(reasons)})")
        return ", ".join(parts) + "."

    @property
    def kind(self) -> str:
        if not self.skipped:
            return "success"
        return "info" if self.updated or self.unchanged else "error"


def apply_bulk(
    session: Session,
    viewer: Viewer,
    ticket_ids: Sequence[int],
    changes: BulkChanges,
    *,
    clock: Clock = system_clock,
) -> BulkResult:
    errors = Errors()
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        errors.add("ticket_ids", "Select at least one ticket.")
    elif len(ids) > MAX_TICKETS:
        errors.add("ticket_ids", f"Select at most {MAX_TICKETS} tickets at a time.")
    if changes.empty:
        errors.add("action", "Choose what to change: assignee, priority or a tag.")
    if changes.priority is not None:
        clean_priority(changes.priority, errors)
    if changes.tag:
        clean_tags([changes.tag], errors)
    errors.raise_if_any()

    repo = TicketRepository(session)
    numbers = repo.visible_numbers(viewer, ids)
    result = BulkResult()
    for ticket_id in ids:
        if ticket_id not in numbers:
            result.skipped.append(Skipped(None, "not found"))
            continue
        try:
            with session.begin_nested():
                ticket = repo.lock(ticket_id)
                assert ticket is not None
                before = ticket.version
                if changes.assign:
                    tickets.assign(session, viewer, ticket_id, changes.assignee_id, clock=clock)
                if changes.priority is not None:
                    tickets.update(
                        session,
                        viewer,
                        ticket_id,
                        tickets.TicketChanges(priority=changes.priority),
                        clock=clock,
                    )
                if changes.tag:
                    tickets.add_tag(session, viewer, ticket_id, changes.tag, clock=clock)
                session.flush()
                changed = ticket.version != before
        except DomainError as exc:
            result.skipped.append(Skipped(f"HD-{numbers[ticket_id]}", exc.detail))
            continue
        (result.updated if changed else result.unchanged).append(ticket_id)
    return result
