"""Stable event names (noun.past_verb). Never rename one: consumers and stored rows rely on them."""

from enum import StrEnum


class EventType(StrEnum):
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_STATUS_CHANGED = "ticket.status_changed"
    TICKET_ASSIGNED = "ticket.assigned"
    TICKET_TRANSFERRED = "ticket.transferred"
    TICKET_SHARED = "ticket.shared"
    TICKET_UNSHARED = "ticket.unshared"
    TICKET_WATCHER_ADDED = "ticket.watcher_added"
    TICKET_WATCHER_REMOVED = "ticket.watcher_removed"
    MESSAGE_REPLIED = "message.replied"
    NOTE_ADDED = "note.added"
