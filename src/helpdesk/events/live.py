"""Live console updates: ticket events become small notices on Redis pub/sub, and each open
console page hears the notices of the channels the access policy lets its viewer hear.

The flow, end to end:
  service commits (TicketEvent + outbox row + NOTIFY)
  → publisher (woken by NOTIFY) hands the row to Dramatiq
  → `live.broadcast` (queue "live") looks up where the ticket lives *now* and PUBLISHes one
    notice to every channel that should hear about it
  → each web process's GET /console/live (events/live_routes.py) forwards the notices of the
    viewer's channels as named server-sent events (`team-changed`, `user-changed`, `ticket-changed`)
  → static/js/live.js asks the server for the affected fragment again.

A notice is a hint, never data: it carries ids and a version, and a page that hears one
re-renders through the normal routes, which apply the policy again. Notices are best-effort:
PUBLISH to a channel nobody listens to is a no-op, and a notice that cannot be published is
dropped with a warning rather than retried (by the time a retry ran it would be stale; pages
catch up on their own when their live connection comes back).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import redis
import redis.asyncio
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.orm import Session

from helpdesk.config import get_settings
from helpdesk.errors import NotFound
from helpdesk.events.broker import Event, consumer
from helpdesk.events.types import EventType
from helpdesk.identity.policy import Action, can_work_team, require, require_agent, ticket_access
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.repository import ShareFacts, TicketFacts, TicketRepository

log = logging.getLogger("helpdesk.live")

TEAM_EVENT = "team-changed"
USER_EVENT = "user-changed"
TICKET_EVENT = "ticket-changed"
READY_EVENT = "live-ready"  # sent once the subscription is in place: the page is live
UNAVAILABLE_EVENT = "live-unavailable"  # Redis cannot be reached: the page polls until it can

HEARTBEAT_SECONDS = 15.0  # comment lines keep proxies and the browser from timing the stream out
LIFETIME_SECONDS = 600.0  # then the browser reconnects (proxies kill streams that live for hours)
LIFETIME_JITTER = 60.0  # spread the reconnects of pages opened together
RETRY_MS = 2_000  # the browser's reconnect delay after a dropped or ended stream
RETRY_UNAVAILABLE_MS = 15_000  # ... and while Redis is down
CONNECT_TIMEOUT = 1.0


def _prefix() -> str:
    # Pub/sub channels ignore the Redis database number, so the namespace is what keeps two
    # installations (or two test sessions) sharing one Redis apart: "helpdesk:live:..." by default.
    return f"{get_settings().redis_namespace}:live"


def team_channel(team_id: int) -> str:
    return f"{_prefix()}:team:{team_id}"


def ticket_channel(ticket_id: int) -> str:
    return f"{_prefix()}:ticket:{ticket_id}"


def user_channel(user_id: int) -> str:
    return f"{_prefix()}:user:{user_id}"


# --- publishing (worker side) ------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    ticket_id: int
    number: int
    version: int
    type: str
    actor_id: int | None
    actor_name: str | None
    at: str
    channels: list[str] = field(default_factory=list)

    def payload(self) -> str:
        return json.dumps(
            {
                "ticket_id": self.ticket_id,
                "number": self.number,
                "version": self.version,
                "type": self.type,
                "actor_id": self.actor_id,
                "actor_name": self.actor_name,
                "at": self.at,
            },
            separators=(",", ":"),
        )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ids(*values: Any) -> list[int]:
    return sorted({v for v in (_int(x) for x in values) if v is not None})


def _watchers_with_access(
    repo: TicketRepository, ticket: TicketFacts, shares: Sequence[ShareFacts]
) -> list[int]:
    """Watchers hear the ticket on their own channel (My Work → Watching) while they may see it."""
    allowed = []
    for w in repo.watcher_facts(ticket.id):
        watcher = Viewer(w.user_id, "", "", w.role, w.team_ids)
        if w.is_active and ticket_access(watcher, ticket, shares):
            allowed.append(w.user_id)
    return allowed


def build_notice(db: Session, event: Event) -> Notice | None:
    """Where the ticket lives now, plus where it just left (a transfer's previous team, a
    reassignment's previous assignee, an unshared team, a watcher who stopped watching).
    It runs for every event, so it reads plain columns, not ORM objects with relationships."""
    if event.ticket_id is None:
        return None
    repo = TicketRepository(db)
    ticket = repo.facts(event.ticket_id)
    if ticket is None:
        return None
    shares = repo.share_facts(ticket.id)
    data = event.data
    teams = _ids(ticket.team_id, *(s.team_id for s in shares))
    users = _ids(ticket.assignee_id)
    if event.type is EventType.TICKET_TRANSFERRED:
        teams = _ids(*teams, data.get("from"))
        users = _ids(*users, data.get("unassigned"))
    elif event.type is EventType.TICKET_UNSHARED:
        teams = _ids(*teams, data.get("team_id"))
    elif event.type is EventType.TICKET_ASSIGNED:
        users = _ids(*users, data.get("from"))
    elif event.type is EventType.TICKET_WATCHER_REMOVED:
        users = _ids(*users, data.get("user_id"))
    users = _ids(*users, *_watchers_with_access(repo, ticket, shares))
    actor_id = _int(event.payload.get("actor_id"))
    actor_name = IdentityRepository(db).user_name(actor_id) if actor_id is not None else None
    return Notice(
        ticket_id=ticket.id,
        number=ticket.number,
        version=ticket.version,
        type=event.type.value,
        actor_id=actor_id,
        actor_name=actor_name,
        at=str(event.payload.get("at", "")),
        channels=[
            *(team_channel(t) for t in teams),
            ticket_channel(ticket.id),
            *(user_channel(u) for u in users),
        ],
    )


_client: redis.Redis | None = None
_client_lock = threading.Lock()


def _redis() -> redis.Redis:
    # Under the lock: a worker's threads start together, and a second client built by a racing
    # thread would replace the first, whose finaliser then closes the connection still in use.
    global _client
    with _client_lock:
        if _client is None:
            _client = redis.Redis.from_url(
                get_settings().redis_url, socket_timeout=2, socket_connect_timeout=CONNECT_TIMEOUT
            )
        return _client


def publish(notice: Notice, client: redis.Redis | None = None) -> int:
    """PUBLISH the notice to its channels in one round trip; returns how many listeners heard it."""
    pipe = (client or _redis()).pipeline(transaction=False)
    body = notice.payload()
    for channel in notice.channels:
        pipe.publish(channel, body)
    return sum(int(n) for n in pipe.execute())


def announce(db: Session, event: Event, client: redis.Redis | None = None) -> Notice | None:
    """The body of the consumer: build the notice and publish it, best-effort."""
    notice = build_notice(db, event)
    if notice is None:
        return None
    try:
        publish(notice, client)
    except redis.RedisError as exc:
        log.warning("live notice for ticket %s dropped: %s", notice.ticket_id, type(exc).__name__)
    return notice


# Its own queue and a high priority, so live notices never wait behind a burst of e-mail
# planning (sends go first of all: a mail is the promise we make); few retries, because a
# notice that is late by minutes is worthless (pages catch up when they reconnect).
@consumer("live.broadcast", events=list(EventType), queue="live", max_retries=2, priority=-5)
def broadcast(db: Session, event: Event) -> None:
    announce(db, event)


# --- subscribing (web side) --------------------------------------------------------------


def subscription(
    db: Session, viewer: Viewer, *, team_ids: Iterable[int] = (), ticket_id: int | None = None
) -> dict[str, str]:
    """The channels this viewer may hear, each with the SSE event name it is forwarded as.

    - `ticket_id`: that ticket's channel, if the policy lets the viewer VIEW the ticket.
    - `team_ids`: those teams' channels, if the viewer may work each team's backlog.
    - neither: every team the viewer works in. Without a ticket the viewer also hears their
      own user channel (assigned to me, watching).
    Anything not allowed is NotFound, like every other console route.
    """
    require_agent(viewer)
    channels: dict[str, str] = {}
    teams = sorted(set(team_ids))
    if ticket_id is not None:
        repo = TicketRepository(db)
        ticket = repo.get(ticket_id)
        if ticket is None:
            raise NotFound("No such ticket.")
        require(viewer, ticket, repo.shares(ticket_id), Action.VIEW)
        channels[ticket_channel(ticket_id)] = TICKET_EVENT
    elif not teams:
        teams = sorted(t for t in viewer.team_ids if can_work_team(viewer, t))
    for team_id in teams:
        if not can_work_team(viewer, team_id) or IdentityRepository(db).team(team_id) is None:
            raise NotFound("No such team backlog.")
        channels[team_channel(team_id)] = TEAM_EVENT
    if ticket_id is None:
        channels[user_channel(viewer.id)] = USER_EVENT
    return channels


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def stream(
    channels: dict[str, str],
    *,
    redis_url: str | None = None,
    lifetime: float | None = None,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> AsyncIterator[ServerSentEventMessage]:
    """Server-sent events for one page: a `live-ready` event once subscribed, then every notice
    of `channels` as the event named there, heartbeats in between, and an end after `lifetime`
    so the browser reconnects. If Redis is unreachable: one `live-unavailable` event with a
    long retry hint, at once, instead of a hanging request."""
    lifetime = lifetime if lifetime is not None else LIFETIME_SECONDS + random.uniform(0, LIFETIME_JITTER)  # noqa: S311 - jitter, not security
    client = redis.asyncio.Redis.from_url(
        redis_url or get_settings().redis_url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        health_check_interval=int(heartbeat * 2),
    )
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        try:
            with anyio.fail_after(CONNECT_TIMEOUT * 2):
                await pubsub.subscribe(*channels)
        except (redis.RedisError, OSError, TimeoutError) as exc:
            log.warning("live feed unavailable: %s", type(exc).__name__)
            yield ServerSentEventMessage(event=UNAVAILABLE_EVENT, data="{}", retry=RETRY_UNAVAILABLE_MS)
            return
        yield ServerSentEventMessage(event=READY_EVENT, data="{}", retry=RETRY_MS)
        started = last_sent = time.monotonic()
        while True:
            now = time.monotonic()
            if now - started >= lifetime:
                return
            wait = min(heartbeat - (now - last_sent), lifetime - (now - started))
            try:
                message = await pubsub.get_message(timeout=max(wait, 0.0))
            except (redis.RedisError, OSError) as exc:
                log.warning("live feed lost Redis: %s", type(exc).__name__)
                yield ServerSentEventMessage(event=UNAVAILABLE_EVENT, data="{}", retry=RETRY_UNAVAILABLE_MS)
                return
            if message is not None and message.get("type") == "message":
                name = channels.get(_decode(message["channel"]))
                if name is not None:
                    yield ServerSentEventMessage(event=name, data=_decode(message["data"]))
                    last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= heartbeat:
                yield ServerSentEventMessage(comment="ping", data=None)
                last_sent = time.monotonic()
    finally:
        # Cancelled when the browser goes away: without the shield the cleanup itself is
        # cancelled at its first await and the subscription (and connection) leaks.
        with anyio.CancelScope(shield=True):
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated
                await client.aclose()
            except (redis.RedisError, OSError):
                pass
