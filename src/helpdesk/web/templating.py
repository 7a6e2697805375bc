"""Jinja environment: globals and filters shared by all templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment

from helpdesk.config import PROJECT_ROOT
from helpdesk.tickets.models import PRIORITY_LABELS, Priority

STATIC_DIR = PROJECT_ROOT / "static"
TEMPLATE_DIR = PROJECT_ROOT / "templates"


def _static_url(path: str) -> str:
    # The file's mtime busts browser caches after an upgrade without a build step.
    file = STATIC_DIR / path
    version = int(file.stat().st_mtime) if file.exists() else 0
    return f"/static/{path}?v={version}"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    if seconds < 45:
        return "just now"
    for size, unit in (
        (86400 * 365, "y"),
        (86400 * 30, "mo"),
        (86400 * 7, "w"),
        (86400, "d"),
        (3600, "h"),
        (60, "min"),
    ):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def datetime_label(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC") if value else ""


def priority_label(value: int) -> str:
    return PRIORITY_LABELS[Priority(value)]


def initials(name: str | None) -> str:
    parts = (name or "?").split()
    return "".join(p[0] for p in parts[:2]).upper() or "?"


REQUESTER_STATUS_WORDS = {
    "new": "Received",
    "triaged": "Received",
    "assigned": "Assigned to an agent",
    "in_progress": "In progress",
    "waiting_requester": "Waiting for your reply",
    "waiting_vendor": "Waiting on a supplier",
    "resolved": "Resolved",
    "closed": "Closed",
    "reopened": "Reopened",
}


def requester_status(status: Any) -> str:
    """Plain words for employees; agents see the configured status names."""
    return str(REQUESTER_STATUS_WORDS.get(status.key, status.name))


def requester_status_data(data: dict[str, Any]) -> str:
    return REQUESTER_STATUS_WORDS.get(str(data.get("key")), str(data.get("name") or ""))


def configure(env: Environment) -> None:
    env.globals["static"] = _static_url
    env.filters["ago"] = ago
    env.filters["dt"] = datetime_label
    env.filters["priority_label"] = priority_label
    env.filters["initials"] = initials
    env.filters["requester_status"] = requester_status
    env.filters["requester_status_data"] = requester_status_data
    env.globals["now"] = lambda: datetime.now(UTC)
    env.trim_blocks = True
    env.lstrip_blocks = True
