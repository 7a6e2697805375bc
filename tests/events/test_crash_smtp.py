"""Kill -9 the publisher and the worker at chosen points of a burst of ticket events, restart
them, and count the mail a real SMTP server (aiosmtpd, in this process) accepted: every event
reaches every recipient exactly once, except in the one window SMTP cannot close.

Real `helpdesk publisher` and `helpdesk worker` processes, real Postgres and Redis. The kills
are placed deterministically rather than by timing:

- The publisher is killed after the events' commit and before any publishing (the events are
  written while it is not running), and again after it handed every message to Redis but
  before it marked the rows published: the test holds a SHARE lock on outbox, which
  lets the publisher claim rows (FOR UPDATE takes ROW SHARE) but blocks its UPDATE, so it is
  killed while waiting there. The restarted publisher sends every event a second time.
- The worker (one process, one thread, so one actor at a time) is killed three times in the
  middle of notifications.send, the SMTP server holding the conversation at:
  RCPT        before the message was transmitted: nothing is accepted; the retry sends it once.
  DATA        the whole message received, the 250 not yet given: the client is gone, so the
              server never accepts it (aiosmtpd drops the session); the retry sends it once.
  QUIT        after the 250: the server has the mail but the worker dies before its commit.
              SMTP has no idempotency, so the retry delivers it again. What the design
              guarantees there is the same Message-ID (recipients' clients collapse the two),
              and the test asserts exactly that: the QUIT-killed delivery arrives exactly twice
              under one Message-ID, every other delivery exactly once.

A killed worker's send tasks are recovered by the stuck-delivery sweep (`helpdesk
notifications requeue`; the scheduler runs it every minute for deliveries queued 5 minutes),
run here once with --older-than 0 instead of waiting; it also sends duplicate tasks for
deliveries whose task is still queued, which must be no-ops. Dramatiq also hands a dead
worker's unacknowledged messages back once its heartbeat is HEARTBEAT_TIMEOUT_MS old (that is
what recovers plan messages; tests/events/test_crash.py kills workers mid-plan); whichever
comes first, the row lock and the sent status keep it to one mail.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from helpdesk.events.broker import SUBSCRIBERS
from tests.events.conftest import isolated_env
from tests.notifications.conftest import free_port

BIN = Path(sys.executable).parent
TICKETS = 8  # each: created (mail to the requester), assigned (to the agent), replied (requester)
WAIT = 30.0  # seconds for any one step; a step normally takes well under a second
HOLD = 15.0  # longest the SMTP server stalls a conversation (the client gives up after 20 s)
KILL_POINTS = ("RCPT", "DATA", "QUIT")


@dataclass
class Hold:
    """One SMTP conversation to stall at `stage` until its client is killed."""

    stage: str
    reached: threading.Event = field(default_factory=threading.Event)
    over: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""  # "client gone" when the kill closed the connection while held
    recipient: str = ""
    message_id: str = ""


class CaptureHandler:
    """Accepts every mail (a mail counts as accepted when the server answers 250 to its DATA)
    and stalls the next conversations at the points the test asks for."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[EmailMessage] = []
        self.pending: list[Hold] = []
        self.holds: weakref.WeakKeyDictionary[SmtpSession, Hold] = weakref.WeakKeyDictionary()

    def hold_next(self, stage: str) -> Hold:
        hold = Hold(stage)
        with self.lock:
            self.pending.append(hold)
        return hold

    def accepted_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.accepted)

    async def _hold(self, hold: Hold) -> None:
        """Stall until the client goes away (aiosmtpd cancels the session's coroutine when the
        connection is lost). Bounded, so a test that never kills cannot hang the server."""
        hold.reached.set()
        try:
            await asyncio.sleep(HOLD)
            hold.outcome = "timed out"
        except asyncio.CancelledError:
            hold.outcome = "client gone"
            raise
        finally:
            hold.over.set()

    def _session_hold(self, session: SmtpSession, stage: str) -> Hold | None:
        with self.lock:
            hold = self.holds.get(session)
        return hold if hold is not None and hold.stage == stage else None

    async def handle_RCPT(
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        envelope.rcpt_tos.append(address)
        with self.lock:
            if session not in self.holds and self.pending:
                self.holds[session] = self.pending.pop(0)
                self.holds[session].recipient = address
        hold = self._session_hold(session, "RCPT")
        if hold is not None:
            await self._hold(hold)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            hold = self.holds.get(session)
        if hold is not None:
            hold.message_id = str(message["Message-ID"])
        hold = self._session_hold(session, "DATA")
        if hold is not None:
            await self._hold(hold)  # cancelled by the kill: never accepted
        with self.lock:
            self.accepted.append(message)
        return "250 Message accepted"

    async def handle_QUIT(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        hold = self._session_hold(session, "QUIT")
        if hold is not None:
            await self._hold(hold)
        return "221 Bye"


@pytest.fixture
def capture() -> Iterator[tuple[CaptureHandler, str]]:
    handler = CaptureHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def crash_env(capture: tuple[CaptureHandler, str]) -> Iterator[tuple[dict[str, str], Engine]]:
    with isolated_env("crashsmtp", SMTP_URL=capture[1]) as (env, engine):
        with engine.begin() as conn:  # the seed's own history is not part of this test
            conn.execute(text("UPDATE outbox SET published_at = now() WHERE published_at IS NULL"))
        yield env, engine


class Processes:
    """The publisher and worker processes of the test, each killed with its process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.kills: list[str] = []

    def start(self, name: str) -> None:
        args = {"publisher": ["publisher"], "worker": ["worker", "--processes", "1", "--threads", "1"]}[name]
        with self.log.open("ab") as out:
            self.running[name] = subprocess.Popen(
                [str(BIN / "helpdesk"), *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, name: str) -> None:
        proc = self.running.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        self.kills.append(name)

    def kill_all(self) -> None:
        for name in list(self.running):
            self.kill(name)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _wait(condition: Callable[[], bool], what: str, procs: Processes, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; log:\n{procs.tail()}")
        time.sleep(0.05)


def _make_events(engine: Engine) -> dict[tuple[int, str], str]:
    """Ticket activity through the real services, committed like web requests would. Returns
    the mail each event must cause: (outbox id, recipient address) -> notification kind."""
    from helpdesk.events.models import OutboxMessage
    from helpdesk.identity.repository import IdentityRepository
    from helpdesk.identity.viewer import Viewer
    from helpdesk.messaging import service as messaging
    from helpdesk.tickets import service as tickets

    expected: dict[tuple[int, str], str] = {}
    with Session(engine) as db, db.begin():
        repo = IdentityRepository(db)

        def viewer(address: str) -> Viewer:
            user = repo.user_by_email(address)
            assert user is not None
            return Viewer(user.id, user.email, user.name, user.role, repo.team_ids(user.id))

        lead, agent = viewer("lead.it@example.com"), viewer("agent.it@example.com")
        requesters = [viewer("employee@example.com"), viewer("colleague@example.com")]
        it = repo.team_by_slug("it")
        assert it is not None

        def last_event(ticket_id: int, kind: str) -> int:
            stmt = select(func.max(OutboxMessage.id)).where(
                OutboxMessage.ticket_id == ticket_id, OutboxMessage.event_type == kind
            )
            event_id = db.scalar(stmt)
            assert event_id is not None, f"no {kind} event for ticket {ticket_id}"
            return event_id

        for i in range(TICKETS):
            requester = requesters[i % 2]
            t = tickets.create_ticket(
                db, requester, tickets.NewTicket(subject=f"Crash {i}", description="x", team_id=it.id)
            ).ticket
            expected[(last_event(t.id, "ticket.created"), requester.email)] = "request_received"
            tickets.assign(db, lead, t.id, agent.id)
            expected[(last_event(t.id, "ticket.assigned"), agent.email)] = "ticket_assigned"
            messaging.add_message(db, agent, t.id, f"Reply {i}")
            expected[(last_event(t.id, "message.replied"), requester.email)] = "public_reply"
    return expected


def _blocked_backends(engine: Engine) -> list[int]:
    """Backends waiting for a lock on outbox (the publisher's UPDATE)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid FROM pg_locks WHERE NOT granted "
                "AND relation = 'outbox'::regclass AND pid <> pg_backend_pid()"
            )
        )
        return [int(r[0]) for r in rows]


def test_mail_survives_kills_of_publisher_and_worker_mid_smtp(
    crash_env: tuple[dict[str, str], Engine], capture: tuple[CaptureHandler, str], tmp_path: Path
) -> None:
    import helpdesk.workers  # noqa: F401 - the same consumers the worker process declares
    from helpdesk.notifications.actors import plan_notifications as plan_actor

    env, engine = crash_env
    smtp = capture[0]
    procs = Processes(env, tmp_path / "processes.log")
    plan_messages = f"{env['REDIS_NAMESPACE']}:notifications.msgs"
    broker = redis.Redis.from_url(env["REDIS_URL"])

    # 1. The events are committed while no publisher runs (it died after their commit).
    expected = _make_events(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, event_type FROM outbox WHERE published_at IS NULL")).all()
    events = {int(row_id) for row_id, kind in rows if plan_actor in SUBSCRIBERS.get(kind, [])}
    assert {event for event, _ in expected} <= events
    try:
        # 2. Publisher killed after handing every event to Redis, before marking any published.
        with engine.connect() as lock:
            lock.execute(text("LOCK TABLE outbox IN SHARE MODE"))
            procs.start("publisher")
            _wait(lambda: bool(_blocked_backends(engine)), "the publisher to block on its UPDATE", procs)
            assert broker.hlen(plan_messages) == len(events)  # all sent, none marked
            stuck = _blocked_backends(engine)
            procs.kill("publisher")
            # As if Postgres had noticed the dead client (it cannot while the backend waits on a lock).
            with engine.connect() as conn:
                for pid in stuck:
                    conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            lock.rollback()
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")) == len(rows)
        procs.start("publisher")
        _wait(lambda: broker.hlen(plan_messages) == 2 * len(events), "every event published again", procs)

        # 3. The worker, killed three times in the middle of an SMTP conversation.
        killed: list[Hold] = []
        for stage in KILL_POINTS:
            hold = smtp.hold_next(stage)
            procs.start("worker")
            _wait(hold.reached.is_set, f"an SMTP conversation held at {stage}", procs)
            # Sends run before plans the worker has fetched, so plan messages are stranded too:
            # Dramatiq hands them back once the dead worker's heartbeat is 15 s old.
            procs.kill("worker")
            assert hold.over.wait(10), hold
            assert hold.outcome == "client gone", hold
            killed.append(hold)
        procs.start("worker")

        # 4. The stuck-delivery sweep, as cron would run it (compressed in time).
        subprocess.run(
            [BIN / "helpdesk", "notifications", "requeue", "--older-than", "0"],
            env=env,
            check=True,
            capture_output=True,
        )

        def all_sent() -> bool:
            with engine.connect() as conn:
                left = conn.scalar(
                    text("SELECT count(*) FROM notification_deliveries WHERE status <> 'sent'")
                )
                total = conn.scalar(text("SELECT count(*) FROM notification_deliveries"))
            return bool(left == 0 and total == len(expected))

        # Up to the 15 s heartbeat timeout before stranded plan messages come back, then sends.
        _wait(all_sent, "every delivery sent", procs, timeout=2 * WAIT)
        ns = env["REDIS_NAMESPACE"]
        _wait(
            lambda: broker.llen(f"{ns}:notifications") == broker.llen(f"{ns}:deliveries") == 0,
            "the queues drained",
            procs,
        )
    finally:
        procs.kill_all()
        broker.close()

    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event_id, recipient_address, kind, message_id, status FROM notification_deliveries")
        ).all()
        dead = conn.scalar(text("SELECT count(*) FROM dead_letters"))
        unpublished = conn.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
    planned = {(int(r.event_id), str(r.recipient_address)): str(r.kind) for r in rows}
    assert planned == expected  # one delivery per (event, recipient), none missing, none extra
    assert {r.status for r in rows} == {"sent"}
    assert dead == 0
    assert unpublished == 0

    by_delivery = {str(r.message_id) for r in rows}
    assert len(by_delivery) == len(rows)
    accepted = smtp.accepted_ids()
    assert set(accepted) == by_delivery, "mail lost, or accepted under a Message-ID no delivery has"
    # The three kills: RCPT and DATA leave nothing accepted, QUIT leaves the accepted mail.
    rcpt, data, quit_ = killed
    assert rcpt.message_id == ""
    assert data.message_id
    assert quit_.message_id
    twice = {quit_.message_id}
    assert {mid for mid, n in accepted.items() if n > 1} == twice
    assert all(n == (2 if mid in twice else 1) for mid, n in accepted.items()), accepted
    copies = [m for m in smtp.accepted if m["Message-ID"] == quit_.message_id]
    assert copies[0]["To"] == copies[1]["To"] == quit_.recipient
    texts = [m.get_body(("plain",)) for m in copies]
    assert texts[0] is not None
    assert texts[1] is not None
    assert texts[0].get_content() == texts[1].get_content()
