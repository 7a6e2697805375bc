"""Public replies and internal notes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from helpdesk.audit.service import record
from helpdesk.clock import Clock, system_clock
from helpdesk.errors import ValidationFailed
from helpdesk.events.types import EventType
from helpdesk.identity.policy import Access, Action
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging.mentions import resolve_mentions
from helpdesk.messaging.models import TicketMessage, Visibility
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Channel, StatusCategory
from helpdesk.tickets.validation import Errors, clean_body


def add_message(
    session: Session,
    viewer: Viewer,
    ticket_id: int,
    body: str,
    *,
    visibility: Visibility = Visibility.PUBLIC,
    then_status: str | None = None,
    channel: Channel = Channel.PORTAL,
    expected_version: int | None = None,
    clock: Clock = system_clock,
) -> TicketMessage:
    """Append to the conversation.

    A public reply from the requester wakes a ticket that waits on them and reopens a
    resolved one; the first public reply from an agent is the first response.
    `then_status` lets an agent reply and move the ticket in one step. Agents @mentioned in
    an internal note are added as watchers and listed in the note.added event.
    """
    action = Action.NOTE if visibility is Visibility.INTERNAL else Action.REPLY
    ticket, access = tickets.load_for_write(session, viewer, ticket_id, action, expected_version)
    errors = Errors()
    field = "note" if visibility is Visibility.INTERNAL else "body"
    text = clean_body(body, errors, field=field, label="Message")
    errors.raise_if_any()
    if then_status and Access.AGENT_WRITE not in access:
        raise ValidationFailed("Only agents of the owning team can change the status.")
    # @mentions in notes: the mentioned agents are notified (note.added carries their ids) and
    # start watching the ticket.
    mentions = resolve_mentions(session, ticket, text, viewer) if visibility is Visibility.INTERNAL else []
    now = clock()
    message = TicketMessage(
        ticket_id=ticket.id,
        author_id=viewer.id,
        visibility=visibility,
        channel=channel,
        body=text,
        created_at=now,
    )
    session.add(message)
    session.flush()
    ticket.updated_at = now
    is_agent_side = access.agent_side and viewer.id != ticket.requester_id
    if visibility is Visibility.PUBLIC and is_agent_side and ticket.first_response_at is None:
        ticket.first_response_at = now
    event = EventType.NOTE_ADDED if visibility is Visibility.INTERNAL else EventType.MESSAGE_REPLIED
    record(
        session,
        ticket_id=ticket.id,
        type=event,
        actor_id=viewer.id,
        at=now,
        data={
            "message_id": message.id,
            "visibility": visibility.value,
            "channel": channel.value,
            "by_requester": viewer.id == ticket.requester_id,
            **({"mentions": [u.id for u in mentions]} if mentions else {}),
        },
    )
    for user in mentions:
        tickets.watch(session, viewer, ticket.id, user.id, clock=lambda: now)
    if then_status:
        tickets.transition(session, viewer, ticket.id, then_status, clock=lambda: now)
    elif visibility is Visibility.PUBLIC and viewer.id == ticket.requester_id:
        if ticket.status.category is StatusCategory.PENDING and ticket.status.key == "waiting_requester":
            tickets.auto_move(session, ticket, "in_progress", viewer, clock, "requester replied")
        elif ticket.status.category is StatusCategory.RESOLVED:
            tickets.auto_move(session, ticket, "reopened", viewer, clock, "requester replied")
    return message
