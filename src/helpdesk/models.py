"""Imports every module's tables so Base.metadata is complete (Alembic, tests)."""

from helpdesk.audit.models import AdminChange, TicketEvent
from helpdesk.db import Base
from helpdesk.events.models import DeadLetter, OutboxMessage, ProcessedMessage
from helpdesk.identity.models import ApiToken, Team, TeamMember, User, UserSession
from helpdesk.messaging.models import TicketMessage
from helpdesk.notifications.models import NotificationDelivery, NotificationPreference, NotificationTemplate
from helpdesk.tickets.models import (
    Category,
    IdempotencyKey,
    SavedFilter,
    Status,
    StatusTransition,
    Ticket,
    TicketShare,
    TicketWatcher,
)

__all__ = [
    "AdminChange",
    "ApiToken",
    "Base",
    "Category",
    "DeadLetter",
    "IdempotencyKey",
    "NotificationDelivery",
    "NotificationPreference",
    "NotificationTemplate",
    "OutboxMessage",
    "ProcessedMessage",
    "SavedFilter",
    "Status",
    "StatusTransition",
    "Team",
    "TeamMember",
    "Ticket",
    "TicketEvent",
    "TicketMessage",
    "TicketShare",
    "TicketWatcher",
    "User",
    "UserSession",
]
