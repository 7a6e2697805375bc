"""The kinds of notification mail: who they are for and whether a user may turn them off."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Audience(StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    description: str
    audience: Audience
    essential: bool = False  # cannot be turned off in the preferences
    internal: bool = False  # carries internal content: only for people who may see internal notes
    opt_in: bool = False  # off unless asked for, with its own settings (the digest)


KINDS: tuple[Kind, ...] = (
    Kind(
        "request_received",
        "Request received",
        "The acknowledgement with the ticket number when a request is filed.",
        Audience.REQUESTER,
        essential=True,
    ),
    Kind(
        "public_reply",
        "Reply to your request",
        "The service desk answered one of your requests.",
        Audience.REQUESTER,
    ),
    Kind(
        "waiting_on_you",
        "Waiting for your reply",
        "The service desk needs something from you before it can go on.",
        Audience.REQUESTER,
        essential=True,
    ),
    Kind(
        "request_resolved",
        "Request resolved",
        "One of your requests was resolved.",
        Audience.REQUESTER,
        essential=True,
    ),
    Kind("ticket_assigned", "Assigned to you", "A ticket was assigned to you.", Audience.AGENT),
    Kind(
        "ticket_reopened",
        "Ticket reopened",
        "A ticket assigned to you was reopened.",
        Audience.AGENT,
    ),
    Kind(
        "conversation_update",
        "New reply on your tickets",
        "A public reply on a ticket assigned to you or that you watch.",
        Audience.AGENT,
    ),
    Kind(
        "internal_note",
        "Internal note",
        "An internal note on a ticket you watch.",
        Audience.AGENT,
        internal=True,
    ),
    Kind(
        "mentioned",
        "Mentioned in a note",
        "Someone @mentioned you in an internal note (you also start watching the ticket).",
        Audience.AGENT,
        internal=True,
    ),
)
DIGEST = Kind(
    "backlog_digest",
    "Daily backlog digest",
    "For team leads: each morning, the open work of your teams by priority and age, unassigned"
    " tickets and those at risk.",
    Audience.AGENT,
    opt_in=True,
)
KINDS += (DIGEST,)
BY_KEY: dict[str, Kind] = {k.key: k for k in KINDS}


def kind(key: str) -> Kind:
    return BY_KEY[key]


def kinds_for(is_agent: bool) -> list[Kind]:
    """What a user can receive: agents can also be requesters of their own tickets."""
    return [k for k in KINDS if not k.opt_in and (is_agent or k.audience is Audience.REQUESTER)]
