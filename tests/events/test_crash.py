"""Kill -9 the publisher and a worker in the middle of a burst of ticket events, restart them,
and check that every event took effect exactly once in every consumer (real processes, real
Postgres and Redis, real SMTP capture)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from helpdesk.events.broker import SUBSCRIBERS
from helpdesk.events.models import OutboxMessage, ProcessedMessage
from tests.events.conftest import isolated_env

BIN = Path(sys.executable).parent
EVENTS = 40


@pytest.fixture
def crash_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], Engine]]:
    with isolated_env("crash") as (env, engine):
        yield env, engine


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "helpdesk"), *args],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _make_events(engine: Engine) -> None:
    """Ticket activity through the real services, committed like web requests would."""
    from helpdesk.identity.repository import IdentityRepository
    from helpdesk.identity.viewer import Viewer
    from helpdesk.messaging import service as messaging
    from helpdesk.tickets import service as tickets

    with Session(engine) as db, db.begin():
        repo = IdentityRepository(db)

        def viewer(email: str) -> Viewer:
            user = repo.user_by_email(email)
            assert user is not None
            return Viewer(user.id, user.email, user.name, user.role, repo.team_ids(user.id))

        emp, agent = viewer("employee@example.com"), viewer("agent.it@example.com")
        it = repo.team_by_slug("it")
        assert it is not None
        for i in range(EVENTS // 4):
            t = tickets.create_ticket(
                db, emp, tickets.NewTicket(subject=f"Crash test {i}", description="x", team_id=it.id)
            ).ticket
            tickets.assign(db, agent, t.id, agent.id)
            messaging.add_message(db, agent, t.id, f"reply {i}")


def test_publisher_and_worker_killed_mid_burst_lose_nothing_and_repeat_nothing(
    crash_env: tuple[dict[str, str], Engine], tmp_path: Path
) -> None:
    import helpdesk.workers  # noqa: F401 - the same consumers the worker process declares

    env, engine = crash_env
    log = tmp_path / "processes.log"
    # Events exist before any publisher runs (as if it had died right after their commit).
    _make_events(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.id, OutboxMessage.event_type)).all()
    expected = {
        (actor.actor_name, str(row_id)) for row_id, kind in rows for actor in SUBSCRIBERS.get(kind, [])
    }
    assert expected, "no consumer subscribes to ticket events"

    worker = _start(["worker", "--processes", "1", "--threads", "2"], env, log)
    publisher = _start(["publisher"], env, log)
    time.sleep(1.5)
    _kill(publisher)  # mid-burst, possibly between sending and marking rows published
    _kill(worker)  # with messages in flight
    publisher = _start(["publisher"], env, log)
    worker = _start(["worker", "--processes", "1", "--threads", "2"], env, log)
    deadline = time.monotonic() + 90
    done: set[tuple[str, str]] = set()
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = {
                    (c, m)
                    for c, m in conn.execute(select(ProcessedMessage.consumer, ProcessedMessage.message_id))
                }
                unpublished = conn.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.published_at.is_(None))
                )
            if expected <= done and unpublished == 0:
                break
            time.sleep(0.5)
    finally:
        _kill(publisher)
        _kill(worker)
    missing = expected - done
    assert not missing, f"{len(missing)} effects never happened; log: {log.read_text()[-3000:]}"
    with engine.connect() as conn:
        dead = conn.scalar(text("SELECT count(*) FROM dead_letters"))
    assert dead == 0
