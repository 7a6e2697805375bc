"""Fixtures for the notification tests: a real SMTP server (aiosmtpd), committed data for
actors that open their own transactions, and the events a ticket wrote to the outbox."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from dramatiq import Worker
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from helpdesk.config import get_settings
from helpdesk.events.broker import Event, get_broker
from helpdesk.events.models import OutboxMessage
from helpdesk.events.types import EventType
from helpdesk.notifications import actors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Inbox:
    """What the SMTP server received: parsed messages and their envelopes."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        with self.lock:
            self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Settings from these environment variables for the duration (get_settings is cached)."""
    before = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def outbox_events(db: Session, ticket_id: int, *types: EventType) -> list[Event]:
    """The ticket's events as the publisher hands them to consumers, oldest first."""
    stmt = select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id).order_by(OutboxMessage.id)
    wanted = {t.value for t in types}
    return [
        Event(row.id, EventType(row.event_type), row.payload)
        for row in db.scalars(stmt)
        if not wanted or row.event_type in wanted
    ]


def last_event(db: Session, ticket_id: int, type: EventType) -> Event:
    events = outbox_events(db, ticket_id, type)
    assert events, f"no {type} event for ticket {ticket_id}"
    return events[-1]


# --- committed data (for actors, which open their own transactions) ----------------------


def _public_tables(conn: Any) -> list[str]:
    rows = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
    )
    return sorted(r[0] for r in rows)


def _nonempty(conn: Any, tables: list[str]) -> set[str]:
    return {t for t in tables if conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{t}")')).scalar()}


@pytest.fixture
def committed(engine: Engine) -> Iterator[Session]:
    """A session whose commits are real. Afterwards every table that was empty before the test
    is emptied again (seeded configuration such as statuses and templates is left alone), so
    other tests on this database see nothing of it."""
    with engine.connect() as conn:
        tables = _public_tables(conn)
        keep = _nonempty(conn, tables)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        targets = [t for t in tables if t not in keep]
        with engine.begin() as conn:
            fks = conn.execute(
                text(
                    "SELECT conrelid::regclass::text, confrelid::regclass::text "
                    "FROM pg_constraint WHERE contype = 'f'"
                )
            ).all()
            # A table still referenced from a kept table (users ← notification_templates) cannot
            # be truncated; its rows are deleted instead once the rest is gone.
            blocked = {
                ref.strip('"')
                for src, ref in fks
                if src.strip('"') not in targets and ref.strip('"') in targets
            }
            truncate = [t for t in targets if t not in blocked]
            if truncate:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in truncate)))
            for table in blocked:
                conn.execute(text(f'DELETE FROM "{table}"'))


# --- a real Dramatiq worker on the notifications queue -------------------------------------


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    # A short retry schedule: 3 attempts a few dozen milliseconds apart.
    monkeypatch.setattr(actors, "SEND_OPTIONS", {"max_retries": 2, "min_backoff": 50, "max_backoff": 200})
    broker = get_broker()
    for queue in (actors.QUEUE, actors.SEND_QUEUE):
        broker.flush(queue)
    w = Worker(broker, queues={actors.QUEUE, actors.SEND_QUEUE}, worker_threads=2, worker_timeout=100)
    w.start()
    try:
        yield w
    finally:
        w.stop()
        for queue in (actors.QUEUE, actors.SEND_QUEUE):
            broker.flush(queue)
        # Worker.start registered a middleware on the shared broker; take it off again.
        broker.middleware[:] = [m for m in broker.middleware if type(m).__name__ != "_WorkerMiddleware"]


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


# --- a chat service's incoming-webhook endpoint ---------------------------------------------


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class HookReceiver:
    """A local HTTP server standing in for Slack or Teams: records every POST and answers
    with the next status of `statuses` (then 200 once the list is used up)."""

    def __init__(self) -> None:
        self.posts: list[Posted] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if status < 300:
                        receiver.posts.append(Posted(self.path, dict(self.headers), json.loads(raw)))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"invalid_token")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/services/T000/B000/XXXXSECRET") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def received(self) -> list[Posted]:
        with self.lock:
            return list(self.posts)


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    hook = HookReceiver()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
