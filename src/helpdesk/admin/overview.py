"""The settings overview: what an admin or a team lead can configure, and whether the
background processes (publisher, workers, scheduler) keep up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from helpdesk.clock import Clock, system_clock
from helpdesk.events.status import SystemStatus, system_status
from helpdesk.identity.viewer import Viewer
from helpdesk.jobs import JOBS
from helpdesk.notifications import webhooks


@dataclass(frozen=True)
class Overview:
    webhook_count: int
    status: SystemStatus | None  # admins only


def overview(session: Session, viewer: Viewer, *, clock: Clock = system_clock) -> Overview:
    hooks = webhooks.list_webhooks(session, viewer)  # 404 unless admin or a team's lead
    status = system_status(session, JOBS, clock()) if viewer.is_admin else None
    return Overview(webhook_count=len(hooks), status=status)
