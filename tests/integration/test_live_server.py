"""The live console over real processes: web (uvicorn), publisher and a Dramatiq worker on a
demo-seeded database, real Redis. An agent's SSE stream hears another agent's change; the
stream survives nothing it should not (Redis down: a quick answer, pages still work; server
shutdown: not held up by open streams). Every wait is bounded."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from tests.conftest import TEST_DATABASE_URL, _recreate_database

BIN = Path(sys.executable).parent
DATABASE_URL = TEST_DATABASE_URL + "_live"
NAMESPACE = os.environ["REDIS_NAMESPACE"] + "-live"


T = TypeVar("T")


def run_async(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API (browser tests sharing this
    xdist worker) leaves an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(fn())).result()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    procs: list[tuple[subprocess.Popen[bytes], IO[str]]] = field(default_factory=list)

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("w")
        proc = subprocess.Popen(
            [str(BIN / "helpdesk"), *args], env=env or self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs.append((proc, log))
        return proc

    def web(self, name: str, env: dict[str, str] | None = None) -> tuple[str, subprocess.Popen[bytes]]:
        port = _free_port()
        proc = self.start(name, "web", "--port", str(port), env=env)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            with suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    return base, proc
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{name} did not start; see {self.logs / name}.log")
            time.sleep(0.1)

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10) -> float:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        return time.monotonic() - started


@dataclass(frozen=True)
class Demo:
    base: str
    stack: Stack
    it_team_id: int
    ticket_id: int
    ticket_number: int
    fac_ticket_id: int


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_NAMESPACE": NAMESPACE,
        "HELPDESK_DEBUG": "0",
    }
    _recreate_database(DATABASE_URL)
    subprocess.run([BIN / "helpdesk", "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([BIN / "helpdesk", "demo", "seed"], env=env, check=True, capture_output=True)
    engine = create_engine(DATABASE_URL)
    with engine.connect() as conn:
        it_id = conn.execute(text("SELECT id FROM teams WHERE slug = 'it'")).scalar_one()
        fac_id = conn.execute(text("SELECT id FROM teams WHERE slug = 'facilities'")).scalar_one()
        ticket = conn.execute(
            text("SELECT id, number FROM tickets WHERE team_id = :t ORDER BY id LIMIT 1"), {"t": it_id}
        ).one()
        fac_ticket = conn.execute(
            text("SELECT id FROM tickets WHERE team_id = :t ORDER BY id LIMIT 1"), {"t": fac_id}
        ).scalar_one()
    engine.dispose()
    stack = Stack(env=env, logs=tmp_path_factory.mktemp("live-stack"))
    try:
        base, _ = stack.web("web")
        stack.start("publisher", "publisher")
        stack.start("worker", "worker", "--processes", "1", "--threads", "2")
        yield Demo(base, stack, it_id, ticket.id, ticket.number, fac_ticket)
    finally:
        for proc, log in reversed(stack.procs):
            if proc.poll() is None:
                stack.stop(proc)
            log.close()
        client = redis.Redis.from_url(env["REDIS_URL"])
        keys = list(client.scan_iter(match=f"{NAMESPACE}:*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


# --- a browser-like client --------------------------------------------------------------


@asynccontextmanager
async def signed_in(base: str, email: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        await client.get("/login")
        csrf = client.cookies["hd_csrf"]
        # The token goes in the header as htmx sends it. (In the body alone, about half of the
        # logins fail: Litestar resolves the form and the CSRF dependency concurrently and both
        # read the body — a bug in web/deps.py reported to the lead, not this test's subject.)
        response = await client.post(
            "/login",
            data={"email": email, "password": "demo", "_csrf": csrf, "next": "/"},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code == 303, response.text
        page = await client.get("/console")
        match = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        assert match, "no CSRF token on the console page"
        client.headers["X-CSRF-Token"] = match.group(1)
        yield client


@dataclass
class Sse:
    event: str
    data: str
    at: float


class Stream:
    """An open /console/live stream whose events land in a queue, each with its arrival time."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client, self.url = client, url
        self.events: asyncio.Queue[Sse] = asyncio.Queue()
        self.status = 0
        self.ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stream:
        opened = asyncio.Event()

        async def read() -> None:
            try:
                async with self.client.stream("GET", self.url, timeout=httpx.Timeout(5, read=60)) as r:
                    self.status = r.status_code
                    opened.set()
                    event, data = "message", list[str]()
                    async for line in r.aiter_lines():
                        if line == "":
                            if data or event != "message":
                                await self.events.put(Sse(event, "\n".join(data), time.monotonic()))
                            event, data = "message", []
                        elif line.startswith(":"):
                            await self.events.put(Sse("comment", line[1:].strip(), time.monotonic()))
                        elif line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("data:"):
                            data.append(line[5:].strip())
            finally:
                opened.set()
                self.ended.set()

        self._task = asyncio.create_task(read())
        await asyncio.wait_for(opened.wait(), 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with suppress(asyncio.CancelledError, httpx.HTTPError):
            await self._task

    async def next(self, name: str, timeout: float) -> Sse:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {name!r} event within {timeout} s")
            try:
                got = await asyncio.wait_for(self.events.get(), remaining)
            except TimeoutError:
                raise AssertionError(f"no {name!r} event within {timeout} s") from None
            if got.event == name:
                return got


def _numsub(channel: str) -> int:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        return int(client.pubsub_numsub(channel)[0][1])
    finally:
        client.close()


def _channel(kind: str, ident: int) -> str:
    return f"{NAMESPACE}:live:{kind}:{ident}"


# --- tests ------------------------------------------------------------------------------


def test_a_published_notice_reaches_an_open_stream_within_a_second(demo: Demo) -> None:
    channel = _channel("team", demo.it_team_id)

    async def scenario() -> float:
        async with (
            signed_in(demo.base, "agent.it@example.com") as agent,
            Stream(agent, f"/console/live?team={demo.it_team_id}") as stream,
        ):
            assert stream.status == 200
            await stream.next("live-ready", 3)
            assert _numsub(channel) >= 1
            pub = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"])
            sent = time.monotonic()
            await pub.publish(channel, '{"ticket_id":1,"number":1001}')
            await pub.aclose()
            got = await stream.next("team-changed", 1.0)
            assert got.data == '{"ticket_id":1,"number":1001}'
            return got.at - sent

    latency = run_async(scenario)
    assert latency < 1.0
    print(f"\nRedis PUBLISH → SSE event: {latency * 1000:.1f} ms")  # noqa: T201 - the measurement
    # The server let go of the subscription when the client went away.
    deadline = time.monotonic() + 3
    while _numsub(channel) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _numsub(channel) == 0


def test_another_agents_change_reaches_the_backlog_stream_fast(demo: Demo) -> None:
    """Commit → NOTIFY → publisher → Dramatiq → live.broadcast → Redis → SSE, for real."""

    async def scenario() -> list[tuple[float, float]]:
        timings: list[tuple[float, float]] = []
        async with (
            signed_in(demo.base, "agent.it@example.com") as agent,
            signed_in(demo.base, "lead.it@example.com") as lead,
            Stream(agent, f"/console/live?team={demo.it_team_id}") as stream,
        ):
            await stream.next("live-ready", 3)
            for i in range(8):
                started = time.monotonic()
                response = await lead.post(
                    f"/console/tickets/{demo.ticket_number}/update", data={"priority": str(2 + i % 2)}
                )
                assert response.status_code == 303, response.text
                answered = time.monotonic()  # the change was committed before the answer was sent
                # The first one also waits for the worker to come up.
                while True:
                    got = await stream.next("team-changed", 15 if i == 0 else 3)
                    if f'"number":{demo.ticket_number}' in got.data and '"type":"ticket.updated"' in got.data:
                        break
                if i:
                    timings.append((got.at - answered, got.at - started))
                await asyncio.sleep(0.3)
        return timings

    timings = run_async(scenario)
    after_answer = sorted(t[0] for t in timings)
    after_request = sorted(t[1] for t in timings)
    print(  # noqa: T201 - the measurement
        f"\ncommit → SSE event over {len(timings)} changes: "
        f"median {statistics.median(after_answer) * 1000:.0f} ms, max {after_answer[-1] * 1000:.0f} ms "
        f"(from the request: median {statistics.median(after_request) * 1000:.0f} ms, "
        f"max {after_request[-1] * 1000:.0f} ms)"
    )
    assert statistics.median(after_answer) < 1.0
    assert after_answer[-1] < 2.0


def test_the_ticket_stream_is_for_those_who_may_see_the_ticket(demo: Demo) -> None:
    async def scenario() -> None:
        async with signed_in(demo.base, "agent.it@example.com") as agent:
            assert (await agent.get(f"/console/live?ticket={demo.fac_ticket_id}")).status_code == 404
            async with Stream(agent, f"/console/live?ticket={demo.ticket_id}") as stream:
                assert stream.status == 200
                await stream.next("live-ready", 3)
                assert _numsub(_channel("ticket", demo.ticket_id)) >= 1
        async with signed_in(demo.base, "employee@example.com") as employee:
            assert (await employee.get("/console/live")).status_code == 404

    run_async(scenario)


def test_redis_down_pages_work_and_the_stream_answers_at_once(demo: Demo) -> None:
    env = {**demo.stack.env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    base, proc = demo.stack.web("web-no-redis", env=env)
    try:

        async def scenario() -> None:
            async with signed_in(base, "agent.it@example.com") as agent:
                started = time.monotonic()
                page = await agent.get("/console/teams/it")
                assert page.status_code == 200
                assert "sse-connect" in page.text
                async with Stream(agent, "/console/live") as stream:
                    got = await stream.next("live-unavailable", 3)
                    await asyncio.wait_for(stream.ended.wait(), 3)  # the stream ends: no hanging
                assert got.at - started < 3
                ready = await agent.get("/readyz")
                assert ready.status_code == 503

        run_async(scenario)
    finally:
        demo.stack.stop(proc)


def test_open_streams_do_not_hold_up_a_server_shutdown(demo: Demo) -> None:
    base, proc = demo.stack.web("web-shutdown")

    async def scenario() -> float:
        async with (
            signed_in(base, "agent.it@example.com") as agent,
            Stream(agent, "/console/live") as stream,
        ):
            await stream.next("live-ready", 3)
            took = await asyncio.to_thread(demo.stack.stop, proc, 15)
            await asyncio.wait_for(stream.ended.wait(), 3)
            return took

    took = run_async(scenario)
    assert took < 9, f"the server took {took:.1f} s to stop with a live stream open"
