"""The daily backlog digest for team leads (spec §6.7): opt-in, one per lead per local day.

Leads subscribe on their notifications page and choose the hour and their time zone. The
scheduler runs plan_due() every minute: a subscription is due once the lead's local time has
passed their hour, and the delivery is keyed by (lead, kind, local date) in the database, so
however many schedulers run, and however often, each lead gets one digest a day. A scheduler
that was down all morning still sends today's digest later that day — never yesterday's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy.orm import Session

from helpdesk.clock import Clock, system_clock
from helpdesk.config import get_settings
from helpdesk.errors import ValidationFailed
from helpdesk.events.broker import after_commit
from helpdesk.identity.models import Team, User
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.notifications.defaults import default_source
from helpdesk.notifications.kinds import DIGEST
from helpdesk.notifications.models import DigestSubscription
from helpdesk.notifications.planning import mail_host
from helpdesk.notifications.rendering import TemplateSource, render
from helpdesk.notifications.repository import NotificationRepository
from helpdesk.tickets.models import Priority, Ticket
from helpdesk.tickets.repository import TeamBacklog, TicketRepository

CHANNEL = "email"
AT_RISK_LIMIT = 10
DEFAULT_HOUR = 7


@cache
def timezones() -> list[str]:
    return sorted(available_timezones())


def may_subscribe(viewer: Viewer) -> bool:
    return viewer.is_lead and bool(viewer.team_ids)


def local_day(now: datetime, timezone: str, hour: int) -> date | None:
    """The local date whose digest is due at now, or None before the hour."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date() if local.hour >= hour else None


# --- the lead's choice ------------------------------------------------------------------


def subscription(session: Session, viewer: Viewer) -> DigestSubscription | None:
    return NotificationRepository(session).digest_subscription(viewer.id)


def subscribe(
    session: Session, viewer: Viewer, *, hour: str, timezone: str, clock: Clock = system_clock
) -> DigestSubscription:
    if not may_subscribe(viewer):
        raise ValidationFailed("The backlog digest is for team leads.", fields={})
    errors: dict[str, str] = {}
    if not hour.isdigit() or not 0 <= int(hour) <= 23:
        errors["digest_hour"] = "Choose an hour between 00 and 23."
    if timezone not in timezones():
        errors["digest_timezone"] = "Choose a time zone from the list, e.g. Europe/Berlin."
    if errors:
        raise ValidationFailed("The digest settings were not saved.", fields=errors)
    return NotificationRepository(session).save_digest_subscription(viewer.id, int(hour), timezone, clock())


def unsubscribe(session: Session, viewer: Viewer) -> None:
    NotificationRepository(session).delete_digest_subscription(viewer.id)


# --- planning (the scheduler job) ---------------------------------------------------------


def _age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "just now"


def _risk_row(ticket: Ticket, now: datetime, base: str) -> dict[str, Any]:
    priority = Priority(ticket.priority)
    unassigned = ticket.assignee_id is None
    no_response = ticket.priority <= 2 and ticket.first_response_at is None
    reason = "No first response yet" if no_response else "Unassigned for over a day"
    if no_response and unassigned:
        reason = "Unassigned, no first response yet"
    return {
        "reference": ticket.reference,
        "subject": ticket.subject,
        "priority": f"P{priority.value} · {priority.label}",
        "age": _age(ticket.created_at, now),
        "assignee": ticket.assignee.name if ticket.assignee else "",
        "reason": reason,
        "url": f"{base}/console/tickets/{ticket.number}",
    }


def _team_row(
    team: Team, backlog: TeamBacklog, at_risk: list[Ticket], now: datetime, base: str
) -> dict[str, Any]:
    return {
        "name": team.name,
        "url": f"{base}/console/teams/{team.slug}",
        "open": backlog.open,
        "unassigned": backlog.unassigned,
        "waiting": backlog.waiting,
        **{f"p{p}": backlog.by_priority[p] for p in (1, 2, 3, 4)},
        **{f"over_{d}d": backlog.older_than[d] for d in (1, 3, 7)},
        "oldest_age": _age(backlog.oldest_at, now) if backlog.oldest_at else "",
        "at_risk": [_risk_row(t, now, base) for t in at_risk],
    }


def digest_context(
    session: Session, user: User, team_ids: list[int], day: date, now: datetime
) -> dict[str, Any]:
    base = get_settings().base_url
    tickets = TicketRepository(session)
    teams = sorted(
        (t for t in IdentityRepository(session).teams(team_ids) if t.is_active), key=lambda t: t.name
    )
    summary = tickets.backlog_summary([t.id for t in teams], now)
    rows = [
        _team_row(t, summary[t.id], tickets.at_risk(t.id, now, limit=AT_RISK_LIMIT), now, base) for t in teams
    ]
    return {
        "digest": {
            "date": f"{day:%A} {day.day} {day:%B %Y}",
            "total_open": sum(r["open"] for r in rows),
            "total_at_risk": sum(len(r["at_risk"]) for r in rows),
            "teams": rows,
        },
        "recipient": {"name": user.name, "email": user.email},
        "site": {"name": "Helpdesk", "url": base},
        "preferences_url": f"{base}/account/notifications",
    }


def plan_due(session: Session, now: datetime) -> list[int]:
    """Queue today's digest for every subscribed lead whose hour has come and who has none for
    their local today yet; the sends are enqueued after the commit. Returns the new ids."""
    repo = NotificationRepository(session)
    due: list[tuple[DigestSubscription, User, date]] = []
    for sub, user in repo.digest_subscribers():
        day = local_day(now, sub.timezone, sub.hour)
        if day is not None and user.is_active and user.email:
            due.append((sub, user, day))
    if not due:
        return []
    already = repo.digests_planned(DIGEST.key, {(u.id, d) for _, u, d in due})
    team_ids = repo.team_ids_by_user([u.id for _, u, _ in due])
    row = repo.template(DIGEST.key)
    source = TemplateSource(row.subject, row.body_text, row.body_html) if row else default_source(DIGEST.key)
    host = mail_host()
    created: list[int] = []
    for _, user, day in due:
        viewer = Viewer(
            id=user.id, email=user.email, name=user.name, role=user.role, team_ids=team_ids[user.id]
        )
        if (user.id, day) in already or not may_subscribe(viewer):
            continue
        rendered = render(source, digest_context(session, user, sorted(viewer.team_ids), day, now))
        delivery_id = repo.next_delivery_id()
        inserted = repo.insert_digest(
            {
                "id": delivery_id,
                "event_id": None,
                "event_type": "digest.daily",
                "kind": DIGEST.key,
                "channel": CHANNEL,
                "recipient_id": user.id,
                "recipient_address": user.email,
                "digest_date": day,
                "subject": rendered.subject,
                "body_text": rendered.text,
                "body_html": rendered.html,
                "message_id": f"<hd-digest-{day:%Y%m%d}-{delivery_id}@{host}>",
                "created_at": now,
                "enqueued_at": now,
            }
        )
        if inserted is not None:
            created.append(inserted)
    if created:
        from helpdesk.notifications.actors import enqueue_sends

        after_commit(session, lambda: enqueue_sends(created))
    return created


def next_due(sub: DigestSubscription, *, clock: Clock = system_clock) -> datetime:
    """When the next digest is due (shown on the preferences page)."""
    local = clock().astimezone(ZoneInfo(sub.timezone))
    at = local.replace(hour=sub.hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at
