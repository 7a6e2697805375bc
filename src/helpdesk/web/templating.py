"""Jinja environment: globals and filters shared by all templates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
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


def configure(env: Environment) -> None:
    env.globals["static"] = _static_url
    env.filters["ago"] = ago
    env.filters["dt"] = datetime_label
    env.filters["priority_label"] = priority_label
    env.filters["initials"] = initials
    env.globals["now"] = lambda: datetime.now(UTC)
    env.trim_blocks = True
    env.lstrip_blocks = True


def template_dir() -> Path:
    return TEMPLATE_DIR


def iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
