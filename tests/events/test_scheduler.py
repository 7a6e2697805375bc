"""`helpdesk scheduler`: one leader among copies (a Postgres advisory lock), jobs run when due
and recorded, and the retention sweeps. The process test runs two real schedulers on their
own database and kills the leader."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from helpdesk.events import outbox, scheduler
from helpdesk.events.broker import after_commit
from helpdesk.events.models import OutboxMessage, SchedulerJob
from helpdesk.events.scheduler import Job, Leader
from helpdesk.identity import service as identity
from helpdesk.identity.models import UserSession
from tests.events.conftest import isolated_env
from tests.factories import Factory

BIN = Path(sys.executable).parent


def test_one_leader_at_a_time_and_the_next_takes_over(engine: Engine) -> None:  # engine: the DB exists
    first, second = Leader(), Leader()
    try:
        assert first.acquire()
        assert not second.acquire()
        assert first.acquire()  # still the leader on the next tick
        first.release()  # e.g. the process died: its connection and lock are gone
        assert second.acquire()
        assert not first.acquire()
    finally:
        first.release()
        second.release()


def test_jobs_run_when_due_and_their_outcome_is_recorded(engine: Engine) -> None:
    ran: list[str] = []
    hooked: list[bool] = []

    def ok(db: Session, now: datetime) -> str:
        ran.append("ok")
        after_commit(db, lambda: hooked.append(True))
        return "done"

    def broken(db: Session, now: datetime) -> str:
        raise RuntimeError("disk full")

    jobs = (Job("test.ok", timedelta(minutes=1), ok), Job("test.broken", timedelta(hours=1), broken))
    clock = [datetime(2026, 11, 27, 8, 0, tzinfo=UTC)]
    try:
        assert scheduler.tick(jobs, clock=lambda: clock[0]) == ["test.ok", "test.broken"]
        assert (ran, hooked) == (["ok"], [True])
        assert scheduler.tick(jobs, clock=lambda: clock[0]) == []  # nothing due yet
        clock[0] += timedelta(minutes=1)
        assert scheduler.tick(jobs, clock=lambda: clock[0]) == ["test.ok"]
        with Session(engine) as s:
            rows = {r.name: r for r in s.scalars(select(SchedulerJob))}
        assert rows["test.ok"].runs == 2
        assert rows["test.ok"].last_ok_at == clock[0]
        assert rows["test.ok"].last_error is None
        assert rows["test.broken"].last_ok_at is None
        assert rows["test.broken"].last_error == "RuntimeError: disk full"

        from prometheus_client import generate_latest

        from helpdesk.events import metrics

        metrics.register()
        body = generate_latest().decode()
        line = 'helpdesk_scheduler_job_last_success_timestamp_seconds{job="test.ok"} '
        value = next(x for x in body.splitlines() if x.startswith(line)).split()[1]
        assert float(value) == clock[0].timestamp()
        assert 'job="test.broken"' not in body  # never succeeded
    finally:
        with Session(engine) as s, s.begin():
            s.execute(text("DELETE FROM scheduler_jobs WHERE name LIKE 'test.%'"))


def test_retention_keeps_unpublished_and_recent_rows(db: Session, factory: Factory) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=8), now - timedelta(days=1)
    rows = [
        OutboxMessage(event_type="x", payload={}, created_at=old, published_at=old),
        OutboxMessage(event_type="x", payload={}, created_at=old, published_at=None),
        OutboxMessage(event_type="x", payload={}, created_at=recent, published_at=recent),
    ]
    db.add_all(rows)
    db.flush()
    ids = [r.id for r in rows]
    assert outbox.purge_published(db, now - timedelta(days=7)) == 1
    left = set(db.scalars(select(OutboxMessage.id).where(OutboxMessage.id.in_(ids))))
    assert left == {ids[1], ids[2]}

    user = factory.user()
    db.add_all(
        [
            UserSession(token_hash="a" * 64, user_id=user.id, csrf_token="x", expires_at=now - timedelta(1)),
            UserSession(token_hash="b" * 64, user_id=user.id, csrf_token="y", expires_at=now + timedelta(1)),
        ]
    )
    db.flush()
    assert identity.purge_expired_sessions(db, now) == 1
    left_sessions = db.scalars(select(UserSession.token_hash).where(UserSession.user_id == user.id)).all()
    assert left_sessions == ["b" * 64]


# --- two real scheduler processes ---------------------------------------------------------------


@pytest.fixture
def scheduler_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], Engine]]:
    with isolated_env("sched") as (env, engine):
        with engine.begin() as conn:  # the demo IT lead asks for the digest at midnight UTC: due now
            conn.execute(
                text(
                    "INSERT INTO digest_subscriptions (user_id, hour, timezone, created_at, updated_at) "
                    "SELECT id, 0, 'UTC', now(), now() FROM users WHERE email = 'lead.it@example.com'"
                )
            )
        yield env, engine


def _log_has(path: Path, words: str) -> bool:
    return words in path.read_text(errors="replace")


def _wait(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def test_two_schedulers_elect_one_leader_and_fail_over(
    scheduler_env: tuple[dict[str, str], Engine], tmp_path: Path
) -> None:
    env, engine = scheduler_env
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    files = [log.open("w") for log in logs]
    procs = [
        subprocess.Popen(
            [BIN / "helpdesk", "scheduler", "--tick", "0.3"],
            env=env,
            stdout=file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for file in files
    ]
    try:
        _wait(lambda: sum(_log_has(p, "this scheduler is the leader") for p in logs) == 1)
        _wait(lambda: all(_log_has(p, "scheduler started") for p in logs))
        leader = next(i for i, p in enumerate(logs) if _log_has(p, "this scheduler is the leader"))

        def digests() -> int:
            with Session(engine) as s:
                return int(
                    s.scalar(
                        select(func.count())
                        .select_from(text("notification_deliveries"))
                        .where(text("kind = 'backlog_digest'"))
                    )
                    or 0
                )

        _wait(lambda: digests() == 1)
        time.sleep(1.0)  # several more ticks of both copies
        assert digests() == 1
        assert sum(_log_has(p, "this scheduler is the leader") for p in logs) == 1

        os.killpg(procs[leader].pid, signal.SIGKILL)
        procs[leader].wait(10)
        standby = 1 - leader
        _wait(lambda: _log_has(logs[standby], "this scheduler is the leader"), timeout=20)
        assert digests() == 1  # the new leader finds today's digest planned
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for file in files:
            file.close()
