"""The health of the background machinery, for the settings overview page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.events.models import DeadLetter, OutboxMessage, SchedulerJob
from helpdesk.events.scheduler import Job


@dataclass(frozen=True)
class JobStatus:
    name: str
    every: timedelta
    last_ok_at: datetime | None
    last_finished_at: datetime | None
    last_error: str | None
    late: bool  # not run successfully for three of its intervals (is a scheduler running?)


@dataclass(frozen=True)
class SystemStatus:
    outbox_backlog: int
    outbox_oldest: datetime | None
    dead_letters: int
    jobs: list[JobStatus]


def system_status(db: Session, jobs: tuple[Job, ...], now: datetime) -> SystemStatus:
    backlog, oldest = db.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.published_at.is_(None))
    ).one()
    dead = db.scalar(select(func.count()).select_from(DeadLetter).where(DeadLetter.replayed_at.is_(None)))
    rows = {r.name: r for r in db.scalars(select(SchedulerJob))}
    statuses = []
    for job in jobs:
        row = rows.get(job.name)
        ok = row.last_ok_at if row else None
        statuses.append(
            JobStatus(
                name=job.name,
                every=job.every,
                last_ok_at=ok,
                last_finished_at=row.last_finished_at if row else None,
                last_error=row.last_error if row else None,
                late=ok is None or now - ok > 3 * job.every,
            )
        )
    return SystemStatus(int(backlog), oldest, int(dead or 0), statuses)
