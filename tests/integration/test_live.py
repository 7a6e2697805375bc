"""Live console: the `live.broadcast` consumer on real Redis pub/sub, the SSE endpoint's policy,
the stream generator (real Redis, and Redis unreachable), and the console's live fragments."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import redis
from litestar.response.sse import ServerSentEventMessage
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.config import get_settings
from helpdesk.errors import NotFound
from helpdesk.events import live
from helpdesk.events.broker import SUBSCRIBERS, Event
from helpdesk.events.models import OutboxMessage
from helpdesk.events.types import EventType
from helpdesk.identity.models import Role, Team
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import SharePermission, Ticket
from tests.factories import Factory

Client = Callable[..., TestClient]  # type: ignore[type-arg]
HTMX = {"HX-Request": "true"}
UNREACHABLE = "redis://127.0.0.1:1/0"


T = TypeVar("T")


def run_async(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API (browser tests sharing this
    xdist worker) leaves an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(fn())).result()


@dataclass
class World:
    it: Team
    fac: Team
    sec: Team
    ana: Viewer  # IT agent, the one who acts
    ben: Viewer  # IT agent, assignee
    carl: Viewer  # IT agent, watcher
    fay: Viewer  # Facilities agent
    sam: Viewer  # Security agent (read share)
    admin: Viewer
    emp: Viewer
    ticket: Ticket  # IT
    fac_ticket: Ticket


@pytest.fixture
def w(db: Session, factory: Factory) -> World:
    it, fac, sec = factory.team(name="Live IT"), factory.team(name="Live Fac"), factory.team(name="Live Sec")
    emp = factory.user(name="Emil Employee")
    world = World(
        it=it,
        fac=fac,
        sec=sec,
        ana=factory.user(Role.AGENT, [it], name="Ana Agent"),
        ben=factory.user(Role.AGENT, [it], name="Ben Agent"),
        carl=factory.user(Role.AGENT, [it], name="Carl Agent"),
        fay=factory.user(Role.AGENT, [fac], name="Fay Agent"),
        sam=factory.user(Role.AGENT, [sec], name="Sam Agent"),
        admin=factory.user(Role.ADMIN, name="Ada Admin"),
        emp=emp,
        ticket=factory.ticket(emp, team=it, subject="Laptop will not boot"),
        fac_ticket=factory.ticket(emp, team=fac, subject="Door is stuck"),
    )
    db.commit()
    return world


def last_event(db: Session, ticket_id: int, event_type: EventType) -> Event:
    row = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.event_type == event_type.value)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert row is not None
    return Event(row.id, EventType(row.event_type), row.payload)


@pytest.fixture
def rds() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(get_settings().redis_url)
    yield client
    client.close()


class Listener:
    """A real Redis subscriber, subscribed before anything is published."""

    def __init__(self, client: redis.Redis, channels: list[str]) -> None:
        self.pubsub = client.pubsub()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        self.pubsub.subscribe(*channels)
        confirmed = 0
        deadline = time.monotonic() + 2
        while confirmed < len(channels) and time.monotonic() < deadline:
            message = self.pubsub.get_message(timeout=0.2)
            if message and message["type"] == "subscribe":
                confirmed += 1
        assert confirmed == len(channels)

    def received(self, seconds: float = 1.0) -> dict[str, dict[str, Any]]:
        got: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = self.pubsub.get_message(timeout=0.1)
            if message and message["type"] == "message":
                got[message["channel"].decode()] = json.loads(message["data"])
        return got

    def close(self) -> None:
        self.pubsub.close()


# --- the consumer -----------------------------------------------------------------------


def test_consumer_is_subscribed_to_every_ticket_event_on_its_own_queue() -> None:
    for event_type in EventType:
        actors = [a for a in SUBSCRIBERS[event_type.value] if a.actor_name == "live.broadcast"]
        assert len(actors) == 1, event_type
        assert actors[0].queue_name == "live"


def test_a_transfer_reaches_both_teams_the_share_the_ticket_and_the_people(
    db: Session, w: World, rds: redis.Redis
) -> None:
    t = w.ticket
    tickets.assign(db, w.ana, t.id, w.ben.id)  # Ben is assigned (and watches)
    tickets.share(db, w.ana, t.id, team_id=w.sec.id, permission=SharePermission.READ)
    tickets.watch(db, w.sam, t.id)  # Security reads along through the share
    tickets.watch(db, w.carl, t.id)  # an IT watcher, who loses access with the transfer
    tickets.transfer(db, w.ana, t.id, w.fac.id)  # Ben is not in Facilities: unassigned
    event = last_event(db, t.id, EventType.TICKET_TRANSFERRED)

    every = [
        live.team_channel(w.it.id),
        live.team_channel(w.fac.id),
        live.team_channel(w.sec.id),
        live.ticket_channel(t.id),
        live.user_channel(w.ben.id),
        live.user_channel(w.sam.id),
        live.user_channel(w.carl.id),
        live.user_channel(w.ana.id),
        live.ticket_channel(w.fac_ticket.id),
    ]
    listener = Listener(rds, every)
    try:
        notice = live.announce(db, event)
        got = listener.received(0.5)
    finally:
        listener.close()

    assert notice is not None
    assert set(got) == {
        live.team_channel(w.fac.id),  # the new owner
        live.team_channel(w.it.id),  # the previous owner, whose backlog must drop it
        live.team_channel(w.sec.id),  # shared with
        live.ticket_channel(t.id),
        live.user_channel(w.ben.id),  # just unassigned by the transfer
        live.user_channel(w.sam.id),  # watcher who can still see it
    }
    db.expire_all()
    version = db.get(Ticket, t.id).version  # type: ignore[union-attr]
    for payload in got.values():
        assert payload == {
            "ticket_id": t.id,
            "number": t.number,
            "version": version,
            "type": "ticket.transferred",
            "actor_id": w.ana.id,
            "actor_name": "Ana Agent",
            "at": event.payload["at"],
        }


def test_a_reassignment_reaches_the_old_and_the_new_assignee(db: Session, w: World, rds: redis.Redis) -> None:
    t = w.ticket
    tickets.assign(db, w.ana, t.id, w.ben.id)
    tickets.assign(db, w.ana, t.id, w.carl.id)
    event = last_event(db, t.id, EventType.TICKET_ASSIGNED)
    notice = live.build_notice(db, event)
    assert notice is not None
    assert live.user_channel(w.ben.id) in notice.channels
    assert live.user_channel(w.carl.id) in notice.channels
    assert live.team_channel(w.it.id) in notice.channels


def test_nobody_listening_and_redis_down_are_not_failures(
    db: Session, w: World, rds: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    tickets.update(db, w.ana, w.ticket.id, tickets.TicketChanges(priority=1))
    event = last_event(db, w.ticket.id, EventType.TICKET_UPDATED)
    assert live.announce(db, event) is not None  # PUBLISH to no one: fine

    down = redis.Redis.from_url(UNREACHABLE, socket_connect_timeout=0.5)
    started = time.monotonic()
    assert live.announce(db, event, down) is not None  # dropped with a warning, not raised
    assert time.monotonic() - started < 3
    assert "live notice for ticket" in caplog.text


def test_events_without_a_ticket_are_ignored(db: Session) -> None:
    event = Event(1, EventType.TICKET_UPDATED, {"n": 1})
    assert live.build_notice(db, event) is None
    assert live.build_notice(db, Event(2, EventType.TICKET_UPDATED, {"ticket_id": 987654321})) is None


# --- who may listen to what -------------------------------------------------------------


def test_subscription_follows_the_policy(db: Session, w: World) -> None:
    assert live.subscription(db, w.ana) == {
        live.team_channel(w.it.id): "team-changed",
        live.user_channel(w.ana.id): "user-changed",
    }
    assert live.subscription(db, w.ana, team_ids=[w.it.id]) == live.subscription(db, w.ana)
    assert live.subscription(db, w.ana, ticket_id=w.ticket.id) == {
        live.ticket_channel(w.ticket.id): "ticket-changed"
    }
    # Other teams' backlogs and tickets are not the viewer's to hear.
    with pytest.raises(NotFound):
        live.subscription(db, w.ana, team_ids=[w.fac.id])
    with pytest.raises(NotFound):
        live.subscription(db, w.ana, ticket_id=w.fac_ticket.id)
    with pytest.raises(NotFound):
        live.subscription(db, w.ana, ticket_id=987654321)
    with pytest.raises(NotFound):
        live.subscription(db, w.emp, ticket_id=w.ticket.id)  # requesters have no console
    # A read share is enough to follow the ticket; admins may open any backlog.
    tickets.share(db, w.ana, w.ticket.id, team_id=w.sec.id, permission=SharePermission.READ)
    assert live.ticket_channel(w.ticket.id) in live.subscription(db, w.sam, ticket_id=w.ticket.id)
    assert live.team_channel(w.fac.id) in live.subscription(db, w.admin, team_ids=[w.fac.id])


def test_endpoint_refuses_non_agents_and_what_the_policy_does_not_allow(app_client: Client, w: World) -> None:
    assert app_client(w.emp).get("/console/live").status_code == 404
    assert app_client(w.emp).get(f"/console/live?ticket={w.ticket.id}").status_code == 404
    assert app_client().get("/console/live", follow_redirects=False).status_code in (302, 303, 401)
    agent = app_client(w.ana)
    for query in (
        f"ticket={w.fac_ticket.id}",
        f"team={w.fac.id}",
        "ticket=987654321",
        "team=abc",
        f"ticket={w.ticket.id}&ticket={w.ticket.id}",
    ):
        assert agent.get(f"/console/live?{query}").status_code == 404, query


def test_endpoint_streams_the_allowed_channels(
    app_client: Client, w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real stream never ends (TestClient would hang): a finite stand-in shows the wiring.
    async def finite(channels: dict[str, str], **kwargs: Any) -> AsyncIterator[ServerSentEventMessage]:
        yield ServerSentEventMessage(event="live-ready", data=json.dumps(channels, sort_keys=True))

    monkeypatch.setattr(live, "stream", finite)
    response = app_client(w.ana).get(f"/console/live?ticket={w.ticket.id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    assert "event: live-ready" in response.text
    assert live.ticket_channel(w.ticket.id) in response.text


# --- the stream -------------------------------------------------------------------------


async def _collect(
    channels: dict[str, str], *, publish: tuple[tuple[str, str], ...] = (), **kwargs: Any
) -> list[ServerSentEventMessage]:
    out: list[ServerSentEventMessage] = []
    client = redis.asyncio.Redis.from_url(get_settings().redis_url)
    try:
        async for message in live.stream(channels, **kwargs):
            out.append(message)
            if message.event == live.READY_EVENT:
                for channel, body in publish:
                    await client.publish(channel, body)
    finally:
        await client.aclose()
    return out


def test_stream_forwards_notices_as_named_events_with_heartbeats_and_ends() -> None:
    team, user = live.team_channel(424242), live.user_channel(424242)
    channels = {team: "team-changed", user: "user-changed"}
    started = time.monotonic()
    got = run_async(
        lambda: _collect(
            channels,
            publish=((team, '{"n":1}'), (user, '{"n":2}'), (live.team_channel(7), '{"n":3}')),
            lifetime=0.9,
            heartbeat=0.3,
        )
    )
    assert time.monotonic() - started < 3
    assert got[0].event == "live-ready"
    assert got[0].retry == live.RETRY_MS
    events = [(m.event, m.data) for m in got if m.event not in (None, "live-ready")]
    assert events == [("team-changed", '{"n":1}'), ("user-changed", '{"n":2}')]
    assert any(m.comment == "ping" and m.data is None for m in got)  # heartbeat
    assert b": ping" in next(m for m in got if m.comment).encode()


def test_stream_releases_its_subscription_when_the_client_goes_away(rds: redis.Redis) -> None:
    channel = live.team_channel(535353)

    async def scenario() -> None:
        async def consume() -> None:
            async for _ in live.stream({channel: "team-changed"}):
                pass

        task = asyncio.create_task(consume())
        for _ in range(50):
            await asyncio.sleep(0.05)
            if rds.pubsub_numsub(channel)[0][1] == 1:
                break
        assert rds.pubsub_numsub(channel)[0][1] == 1
        task.cancel()  # what the server does when the browser disconnects
        with pytest.raises(asyncio.CancelledError):
            await task

    run_async(scenario)
    deadline = time.monotonic() + 2
    while rds.pubsub_numsub(channel)[0][1] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rds.pubsub_numsub(channel)[0][1] == 0


def test_stream_without_redis_answers_at_once_with_a_retry_hint() -> None:
    started = time.monotonic()
    got = run_async(lambda: _collect({live.team_channel(1): "team-changed"}, redis_url=UNREACHABLE))
    assert time.monotonic() - started < 3
    assert [(m.event, m.retry) for m in got] == [("live-unavailable", live.RETRY_UNAVAILABLE_MS)]


# --- the console's live fragments -------------------------------------------------------


def test_pages_subscribe_to_their_channels(app_client: Client, w: World, db: Session) -> None:
    client = app_client(w.ana)
    slug = w.it.slug
    backlog = client.get(f"/console/teams/{slug}").text
    assert f'sse-connect="/console/live?team={w.it.id}"' in backlog
    assert 'id="results-live"' in backlog
    assert 'sse-connect="/console/live"' in client.get("/console").text
    page = client.get(f"/console/tickets/{w.ticket.number}").text
    assert f'sse-connect="/console/live?ticket={w.ticket.id}"' in page
    assert 'id="live-banner"' in page
    assert "/static/js/live.js" in page


def test_live_refresh_fragments(app_client: Client, w: World, db: Session) -> None:
    client = app_client(w.ana)
    mine = client.get("/console", headers={**HTMX, "HX-Target": "my-work"})
    assert mine.status_code == 200
    assert 'id="q-assigned"' in mine.text
    assert "console-shell" not in mine.text

    url = f"/console/teams/{w.it.slug}?status=open"
    results = client.get(url, headers={**HTMX, "HX-Target": "results", "HX-Trigger": "results-live"})
    assert results.status_code == 200
    assert "Laptop will not boot" in results.text
    assert "hx-push-url" not in {k.lower() for k in results.headers}  # no history entry per refresh
    assert "hx-push-url" in {
        k.lower() for k in client.get(url, headers={**HTMX, "HX-Target": "results"}).headers
    }

    tickets.update(db, w.ben, w.ticket.id, tickets.TicketChanges(priority=1))
    db.commit()
    part = client.get(
        f"/console/tickets/{w.ticket.number}?tab=public", headers={**HTMX, "HX-Target": "ticket-live"}
    )
    assert part.status_code == 200
    for region in ("ticket-header", "ticket-side", "conversation"):
        assert f'id="{region}"' in part.text
    assert part.text.count('hx-swap-oob="true"') == 3
    db.expire_all()
    version = db.get(Ticket, w.ticket.id).version  # type: ignore[union-attr]
    assert f'data-version="{version}"' in part.text
    # The composer (and its version) is never part of it: a draft is never wiped, and a reply
    # written against the older version still gets the "changed while you were writing" warning.
    assert 'id="composer"' not in part.text
    assert "reply-version" not in part.text
    assert "changed priority" in part.text


def test_worker_threads_starting_together_share_one_redis_client(monkeypatch: pytest.MonkeyPatch) -> None:
    # A second client built by a racing thread replaced the first, whose finaliser then closed
    # the connection the first thread was using (seen at worker start-up as AttributeError).
    import threading

    monkeypatch.setattr(live, "_client", None)
    real_from_url = redis.Redis.from_url

    def slow_from_url(*args: Any, **kwargs: Any) -> redis.Redis:
        time.sleep(0.05)  # widen the window a racing thread would fall into
        return real_from_url(*args, **kwargs)

    monkeypatch.setattr(live.redis.Redis, "from_url", slow_from_url)
    start = threading.Barrier(8)

    def first_use() -> int:
        start.wait()
        client = live._redis()
        client.ping()
        return id(client)

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: first_use(), range(8)))
    assert len(ids) == 1
