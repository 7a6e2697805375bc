"""Team chat channels (spec §6.7 phase 2): Slack and Microsoft Teams incoming webhooks.

A team's lead or an admin adds a webhook URL and picks the events posted to it (and a
priority threshold). The notifications.plan consumer writes one delivery per (event, webhook)
next to the mails, and the same send task posts it — so webhooks get the same delivery
records, retries with backoff, dead letters and replay as mail. The stored body is the exact
JSON that is posted, so the mail log shows what the channel received.

Posts carry no internal content: the ticket's subject, priority, team, status, assignee and a
link; a requester's reply is summarised, never quoted (chat channels outlive tickets' access
rules).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from helpdesk.audit.service import record_admin_change
from helpdesk.clock import Clock, system_clock
from helpdesk.config import get_settings
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.events.broker import Event, after_commit
from helpdesk.events.types import EventType
from helpdesk.identity.models import Team
from helpdesk.identity.policy import can_manage_team, managed_team_ids
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.notifications.models import NotificationDelivery, TeamWebhook, WebhookProvider
from helpdesk.notifications.planning import mail_host
from helpdesk.notifications.repository import NotificationRepository
from helpdesk.tickets.models import Priority, Ticket

log = logging.getLogger("helpdesk.notifications")
POST_TIMEOUT = 10.0
AUDIT_ENTITY = "team_webhook"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Trigger:
    key: str
    label: str


TRIGGERS: tuple[Trigger, ...] = (
    Trigger("created", "New ticket for the team"),
    Trigger("transferred", "Ticket transferred to the team"),
    Trigger("assigned", "Ticket assigned"),
    Trigger("requester_replied", "Requester replied"),
    Trigger("resolved", "Ticket resolved"),
    Trigger("reopened", "Ticket reopened"),
)
TRIGGER_KEYS = frozenset(t.key for t in TRIGGERS)
DEFAULT_TRIGGERS = ("created", "transferred", "reopened")


def trigger_of(event: Event) -> str | None:
    data = event.data
    match event.type:
        case EventType.TICKET_CREATED:
            return "created"
        case EventType.TICKET_TRANSFERRED:
            return "transferred"
        case EventType.TICKET_ASSIGNED:
            return "assigned" if data.get("to") else None
        case EventType.MESSAGE_REPLIED:
            return "requester_replied" if data.get("by_requester") else None
        case EventType.TICKET_STATUS_CHANGED:
            if data.get("to_category") == "resolved":
                return "resolved"
            return "reopened" if data.get("to") == "reopened" else None
        case _:
            return None


# --- what is posted ------------------------------------------------------------------------


def _headline(trigger: str, ticket: Ticket, actor: str) -> str:
    return {
        "created": f"New ticket from {ticket.requester.name}",
        "transferred": f"Transferred to {ticket.team.name if ticket.team else 'the team'} by {actor}",
        "assigned": f"Assigned to {ticket.assignee.name if ticket.assignee else 'nobody'} by {actor}",
        "requester_replied": f"{ticket.requester.name} replied",
        "resolved": f"Resolved by {actor}",
        "reopened": f"Reopened by {actor}",
    }[trigger]


def _facts(ticket: Ticket) -> list[tuple[str, str]]:
    priority = Priority(ticket.priority)
    return [
        ("Priority", f"P{priority.value} · {priority.label}"),
        ("Team", ticket.team.name if ticket.team else "Untriaged"),
        ("Status", ticket.status.name),
        ("Assignee", ticket.assignee.name if ticket.assignee else "Unassigned"),
    ]


def payload(
    provider: WebhookProvider, title: str, headline: str, facts: list[tuple[str, str]], url: str
) -> dict[str, Any]:
    """Slack: Block Kit with a plain-text fallback. Teams: an Adaptive Card in a message, the
    format Teams workflows ("Post to a channel when a webhook request is received") accept."""
    if provider is WebhookProvider.SLACK:
        fields = [{"type": "mrkdwn", "text": f"*{k}*\n{_slack_escape(v)}"} for k, v in facts]
        return {
            "text": f"{title} — {headline}",
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*<{url}|{_slack_escape(title)}>*\n{_slack_escape(headline)}",
                    },
                },
                *([{"type": "section", "fields": fields}] if fields else []),
            ],
        }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "type": "AdaptiveCard",
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": title,
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {"type": "TextBlock", "text": headline, "wrap": True, "spacing": "Small"},
                        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]},
                    ],
                    "actions": [{"type": "Action.OpenUrl", "title": "Open ticket", "url": url}],
                },
            }
        ],
    }


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- planning (inside the notifications.plan consumer) ---------------------------------------


def plan(
    session: Session, event: Event, ticket: Ticket, actor_name: str, *, clock: Clock = system_clock
) -> list[int]:
    """One delivery per active webhook of the ticket's team that wants this event."""
    trigger = trigger_of(event)
    if trigger is None or ticket.team_id is None:
        return []
    repo = NotificationRepository(session)
    hooks = [
        h
        for h in repo.active_webhooks(ticket.team_id)
        if trigger in h.events and ticket.priority <= h.min_priority
    ]
    if not hooks:
        return []
    title = f"[{ticket.reference}] {ticket.subject}"
    headline = _headline(trigger, ticket, actor_name)
    url = f"{get_settings().base_url}/console/tickets/{ticket.number}"
    now = clock()
    created = []
    for hook in hooks:
        body = payload(hook.provider, title, headline, _facts(ticket), url)
        new_id = _insert(repo, hook, event, ticket, title, headline, body, now)
        if new_id is not None:
            created.append(new_id)
    return created


def _insert(
    repo: NotificationRepository,
    hook: TeamWebhook,
    event: Event | None,
    ticket: Ticket | None,
    title: str,
    headline: str,
    body: dict[str, Any],
    now: datetime,
) -> int | None:
    delivery_id = repo.next_delivery_id()
    values = {
        "id": delivery_id,
        "event_id": event.outbox_id if event else None,
        "event_type": event.type.value if event else "webhook.test",
        "ticket_id": ticket.id if ticket else None,
        "kind": "webhook_test" if event is None else f"webhook_{hook.provider.value}",
        "channel": hook.provider.value,
        "webhook_id": hook.id,
        "recipient_address": f"{hook.provider.label} · {hook.name}"[:320],
        "subject": f"{title} — {headline}"[:300],
        "body_text": json.dumps(body, indent=2, ensure_ascii=False),
        "body_html": "",
        "message_id": f"<hd-hook-{delivery_id}@{mail_host()}>",
        "created_at": now,
        "enqueued_at": now,
    }
    if event is None:
        return repo.insert_delivery(values)
    return repo.insert_webhook_delivery(values)


# --- sending (inside the notifications.send task) ----------------------------------------------


class WebhookRejected(Exception):
    """The chat service answered with an error status; the send task retries."""


def post(url: str, body: str) -> None:
    response = httpx.post(
        url,
        content=body.encode(),
        headers={"Content-Type": "application/json", "User-Agent": "Helpdesk-Webhooks/1"},
        timeout=POST_TIMEOUT,
        follow_redirects=False,
    )
    if response.status_code >= 300:
        # Only the status and a short excerpt: the URL is a credential and is never logged.
        raise WebhookRejected(f"HTTP {response.status_code}: {response.text[:200]}")


def send(session: Session, delivery: NotificationDelivery) -> str | None:
    """Post a webhook delivery. Returns why it cannot be sent at all (the webhook was removed
    or turned off) — not worth retrying — or None when posted; raises on a failed post."""
    hook = NotificationRepository(session).webhook(delivery.webhook_id) if delivery.webhook_id else None
    if hook is None:
        return "The webhook was removed; nothing to post to."
    if not hook.is_active:
        return "The webhook is turned off."
    post(hook.url, delivery.body_text)
    return None


# --- managing webhooks (settings pages) ---------------------------------------------------------


@dataclass(frozen=True)
class WebhookForm:
    team_id: str
    provider: str
    name: str
    url: str
    events: tuple[str, ...]
    min_priority: str
    is_active: bool


def mask(url: str) -> str:
    """What the settings pages show of a URL: scheme, host and the last four characters."""
    parts = urlsplit(url)
    tail = url[-4:] if len(url) > 12 else ""
    return f"{parts.scheme}://{parts.hostname or ''}/…{tail}"


def manageable_teams(session: Session, viewer: Viewer) -> list[Team]:
    teams = [t for t in IdentityRepository(session).teams() if t.is_active]
    allowed = set(managed_team_ids(viewer, [t.id for t in teams]))
    return [t for t in teams if t.id in allowed]


def require_manager(session: Session, viewer: Viewer) -> list[Team]:
    """The teams whose webhooks the viewer manages; 404 for people who manage none."""
    teams = manageable_teams(session, viewer)
    if not teams and not viewer.is_admin:
        raise NotFound("No such page.")
    return teams


def list_webhooks(session: Session, viewer: Viewer) -> list[TeamWebhook]:
    teams = {t.id for t in require_manager(session, viewer)}
    return [h for h in NotificationRepository(session).webhooks() if h.team_id in teams]


def get_webhook(session: Session, viewer: Viewer, webhook_id: int) -> TeamWebhook:
    hook = NotificationRepository(session).webhook(webhook_id)
    if hook is None or not can_manage_team(viewer, hook.team_id):
        raise NotFound("No such webhook.")
    return hook


def recent_deliveries(session: Session, hook: TeamWebhook) -> list[NotificationDelivery]:
    """Of a webhook get_webhook() returned (so the viewer may manage it)."""
    return NotificationRepository(session).webhook_deliveries(hook.id, limit=20)


def _validate(teams: list[Team], form: WebhookForm, *, url_required: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if form.team_id not in {str(t.id) for t in teams}:
        errors["team_id"] = "Choose one of your teams."
    if form.provider not in WebhookProvider._value2member_map_:
        errors["provider"] = "Choose Slack or Microsoft Teams."
    name = form.name.strip()
    if not name:
        errors["name"] = "Give the webhook a name, e.g. the channel it posts to."
    elif len(name) > 80:
        errors["name"] = "At most 80 characters."
    url = form.url.strip()
    if url or url_required:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            errors["url"] = "Paste the webhook URL the chat service gave you (https://…)."
        elif parts.scheme == "http" and parts.hostname not in LOOPBACK:
            errors["url"] = "The URL must use https://."
        elif len(url) > 2000:
            errors["url"] = "At most 2,000 characters."
    events = [e for e in form.events if e in TRIGGER_KEYS]
    if not events:
        errors["events"] = "Choose at least one event to post."
    if form.min_priority not in ("1", "2", "3", "4"):
        errors["min_priority"] = "Choose a priority."
    if errors:
        raise ValidationFailed("The webhook was not saved.", fields=errors)
    return {
        "team_id": int(form.team_id),
        "provider": WebhookProvider(form.provider),
        "name": name,
        "events": sorted(events, key=[t.key for t in TRIGGERS].index),
        "min_priority": int(form.min_priority),
        "is_active": form.is_active,
        **({"url": url} if url else {}),
    }


def _audit_view(hook: TeamWebhook) -> dict[str, Any]:
    return {
        "team_id": hook.team_id,
        "provider": hook.provider.value,
        "name": hook.name,
        "url": mask(hook.url),
        "events": list(hook.events),
        "min_priority": hook.min_priority,
        "is_active": hook.is_active,
    }


def _audit(
    session: Session,
    viewer: Viewer,
    hook: TeamWebhook,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> None:
    record_admin_change(
        session,
        actor_id=viewer.id,
        entity=AUDIT_ENTITY,
        entity_id=str(hook.id),
        action=action,
        before=before,
        after=after,
        at=at,
    )


def create_webhook(
    session: Session, viewer: Viewer, form: WebhookForm, *, clock: Clock = system_clock
) -> TeamWebhook:
    values = _validate(require_manager(session, viewer), form, url_required=True)
    now = clock()
    hook = TeamWebhook(**values, created_at=now, updated_at=now, updated_by_id=viewer.id)
    NotificationRepository(session).add(hook)
    _audit(session, viewer, hook, "create", None, _audit_view(hook), now)
    return hook


def update_webhook(
    session: Session, viewer: Viewer, webhook_id: int, form: WebhookForm, *, clock: Clock = system_clock
) -> TeamWebhook:
    """A blank URL keeps the stored one (the form never shows it again)."""
    hook = get_webhook(session, viewer, webhook_id)
    values = _validate(manageable_teams(session, viewer), form, url_required=False)
    before = _audit_view(hook)
    for key, value in values.items():
        setattr(hook, key, value)
    hook.updated_at = clock()
    hook.updated_by_id = viewer.id
    after = _audit_view(hook)
    if "url" in values:  # only there when a new one was pasted
        after["url_changed"] = True
    _audit(session, viewer, hook, "update", before, after, hook.updated_at)
    return hook


def delete_webhook(session: Session, viewer: Viewer, webhook_id: int, *, clock: Clock = system_clock) -> str:
    hook = get_webhook(session, viewer, webhook_id)
    name = hook.name
    _audit(session, viewer, hook, "delete", _audit_view(hook), None, clock())
    NotificationRepository(session).delete_webhook(hook)
    return name


def send_test(session: Session, viewer: Viewer, webhook_id: int, *, clock: Clock = system_clock) -> int:
    """Queue a test post through the normal send path; returns the delivery id."""
    hook = get_webhook(session, viewer, webhook_id)
    base = get_settings().base_url
    title = f"Helpdesk · {hook.team.name}"
    headline = _headline_test(viewer.name, hook)
    body = payload(hook.provider, title, headline, [("Webhook", hook.name)], f"{base}/console")
    repo = NotificationRepository(session)
    new_id = _insert(repo, hook, None, None, title, headline, body, clock())
    assert new_id is not None  # no event: no unique key to collide with
    from helpdesk.notifications.actors import enqueue_send

    after_commit(session, lambda: enqueue_send(new_id))
    return new_id


def _headline_test(actor: str, hook: TeamWebhook) -> str:
    return f"Test message sent by {actor}. Events posted here: " + ", ".join(
        t.label.lower() for t in TRIGGERS if t.key in hook.events
    )
