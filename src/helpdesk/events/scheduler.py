"""`helpdesk scheduler`: the periodic jobs, run by whichever copy holds the leader lock.

Leadership is a session-level Postgres advisory lock held on a dedicated connection: one copy
holds it and runs the jobs; the others try again every tick and take over within a tick of the
leader's connection ending (crash, restart, network). Jobs are safe to run twice anyway
(unique keys, row locks, SKIP LOCKED) so the overlap of a failover does no harm; the lock
keeps every copy from doing the same work. When each job last ran is kept in scheduler_jobs,
so a restarted leader does not run an hourly job again straight away.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from helpdesk.clock import Clock, system_clock
from helpdesk.db import raw_connection, transaction
from helpdesk.events.broker import take_after_commit
from helpdesk.events.models import SchedulerJob
from helpdesk.events.signals import stop_on_signals

log = logging.getLogger("helpdesk.scheduler")
LEADER_LOCK = 0x4844_5343_4845_44  # any stable bigint; "HDSCHED"
TICK_SECONDS = 5.0


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Session, datetime], str | None]  # returns a line for the log, or None


def due(db: Session, jobs: Sequence[Job], now: datetime) -> list[Job]:
    last = {j.name: j.last_started_at for j in db.scalars(select(SchedulerJob))}
    return [j for j in jobs if (started := last.get(j.name)) is None or now - started >= j.every]


def _record(db: Session, name: str, *, started: bool = False, **values: object) -> None:
    stmt = insert(SchedulerJob).values(name=name, runs=1 if started else 0, **values)
    update = {**values, "runs": SchedulerJob.runs + 1} if started else values
    db.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=update))


def run_job(job: Job, *, clock: Clock = system_clock) -> bool:
    """Run one job in its own transaction; its outcome is recorded either way."""
    started = clock()
    with transaction() as db:
        _record(db, job.name, started=True, last_started_at=started)
    try:
        with transaction() as db:
            summary = job.run(db, started)
            hooks = take_after_commit(db)
        for hook in hooks:
            hook()
    except Exception as exc:
        log.exception("scheduled job %s failed", job.name)
        with transaction() as db:
            _record(db, job.name, last_finished_at=clock(), last_error=f"{type(exc).__name__}: {exc}"[:2000])
        return False
    with transaction() as db:
        now = clock()
        _record(db, job.name, last_finished_at=now, last_ok_at=now, last_error=None)
    if summary:
        log.info("%s: %s", job.name, summary)
    return True


def tick(jobs: Sequence[Job], *, clock: Clock = system_clock) -> list[str]:
    """Run every job that is due; returns their names."""
    with transaction() as db:
        todo = due(db, jobs, clock())
    for job in todo:
        run_job(job, clock=clock)
    return [j.name for j in todo]


class Leader:
    """Holds the leader lock while its connection lives."""

    def __init__(self) -> None:
        self.conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.held = False

    def acquire(self) -> bool:
        """True while this process is the leader (checks the connection is still alive)."""
        try:
            if self.conn is None or self.conn.closed:
                self.conn, self.held = raw_connection(), False
            if self.held:
                self.conn.execute("SELECT 1")
            else:
                row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,)).fetchone()
                self.held = bool(row and row[0])
        except psycopg.Error as exc:
            log.warning("scheduler lost its database connection (%s); retrying", type(exc).__name__)
            self.release()
        return self.held

    def release(self) -> None:
        """Give up leadership now: unlock explicitly, since the server notices a closed
        connection (and frees its locks) a moment after the client has moved on."""
        if self.conn is not None and not self.conn.closed:
            with contextlib.suppress(psycopg.Error):
                if self.held:
                    self.conn.execute("SELECT pg_advisory_unlock(%s)", (LEADER_LOCK,))
            self.conn.close()
        self.conn, self.held = None, False


def run(
    jobs: Sequence[Job],
    stop: threading.Event | None = None,
    *,
    once: bool = False,
    tick_seconds: float = TICK_SECONDS,
) -> int:
    """Run jobs as they fall due while this copy is the leader, until stopped. With once, run
    what is due now (if leader) and return. Returns how many jobs ran."""
    stop = stop or threading.Event()

    stop_on_signals(stop)
    leader = Leader()
    leading = False
    ran = 0
    log.info("scheduler started (%d jobs)", len(jobs))
    try:
        while not stop.is_set():
            now_leading = leader.acquire()
            if now_leading != leading:
                log.info("this scheduler is %s", "the leader" if now_leading else "standing by")
                leading = now_leading
            if leading:
                try:
                    ran += len(tick(jobs))
                except Exception:  # the database went away mid-tick: try again next tick
                    log.exception("scheduler tick failed")
            if once:
                break
            stop.wait(tick_seconds)
    finally:
        leader.release()
    log.info("scheduler stopped")
    return ran
