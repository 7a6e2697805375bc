"""Imports every module's tables so Base.metadata is complete (Alembic, tests)."""

from helpdesk.audit.models import AdminChange, TicketEvent
from helpdesk.db import Base
from helpdesk.events.models import DeadLetter, OutboxMessage, ProcessedMessage, SchedulerJob
from helpdesk.identity.models import ApiToken, Team, TeamMember, User, UserSession
from helpdesk.messaging.models import TicketMessage
from helpdesk.notifications.models import (
    DigestSubscription,
    NotificationDelivery,
    NotificationPreference,
    NotificationTemplate,
    TeamWebhook,
)
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
    "DigestSubscription",
    "IdempotencyKey",
    "NotificationDelivery",
    "NotificationPreference",
    "NotificationTemplate",
    "OutboxMessage",
    "ProcessedMessage",
    "SavedFilter",
    "SchedulerJob",
    "Status",
    "StatusTransition",
    "Team",
    "TeamMember",
    "TeamWebhook",
    "Ticket",
    "TicketEvent",
    "TicketMessage",
    "TicketShare",
    "TicketWatcher",
    "User",
    "UserSession",
]
