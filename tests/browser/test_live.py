"""The live console in Chromium: one agent's change appears on another agent's open page without
a reload. The live_server runs only the web process, so this module adds the publisher and a
Dramatiq worker on the same database and Redis, and stops them at the end."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import create_engine, text

from tests.browser.conftest import DATABASE_URL, server_env
from tests.browser.helpers import login, shot

BIN = Path(sys.executable).parent
LIVE_WITHIN_MS = 2000


@dataclass(frozen=True)
class Desk:
    base: str
    token: str  # the IT lead's API token, for setting the scene
    it_team_id: int
    ian_id: int
    ids: dict[int, int] = field(default_factory=dict)  # ticket number → id

    def new_ticket(self, subject: str) -> int:
        response = httpx.post(
            f"{self.base}/api/v1/tickets",
            json={
                "subject": subject,
                "description": "Filed by the live console browser test.",
                "team_id": self.it_team_id,
                "requester_email": "colleague@example.com",
            },
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        number: int = response.json()["number"]
        self.ids[number] = response.json()["id"]
        return number

    def assign(self, number: int, user_id: int) -> None:
        response = httpx.post(
            f"{self.base}/api/v1/tickets/{self.ids[number]}/assign",
            json={"assignee_id": user_id},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="session")  # once per run: xdist may interleave modules, and a restart costs a warm-up
def desk(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    env = server_env()
    logs = tmp_path_factory.mktemp("live-workers")
    token = subprocess.run(
        [BIN / "helpdesk", "token", "create", "lead.it@example.com"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    engine = create_engine(DATABASE_URL)
    with engine.connect() as conn:
        it_id = conn.execute(text("SELECT id FROM teams WHERE slug = 'it'")).scalar_one()
        ian_id = conn.execute(text("SELECT id FROM users WHERE email = 'agent.it@example.com'")).scalar_one()
    engine.dispose()
    procs: list[subprocess.Popen[bytes]] = []
    files = []
    for name, args in (
        ("publisher", ["publisher"]),
        ("worker", ["worker", "--processes", "1", "--threads", "2"]),
    ):
        log = (logs / f"{name}.log").open("w")
        files.append(log)
        procs.append(
            subprocess.Popen([BIN / "helpdesk", *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        )
    try:
        worker_log = logs / "worker.log"
        deadline = time.monotonic() + 30
        while "ready for action" not in worker_log.read_text():
            if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                pytest.fail(f"the worker or publisher did not start; see {logs}")
            time.sleep(0.1)
        desk = Desk(live_server, token, it_id, ian_id)
        _warm_up(desk)
        yield desk
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for log in files:
            log.close()


def _warm_up(desk: Desk) -> None:
    """Wait until a change travels all the way to a live stream: the publisher has sent what
    earlier tests left in the outbox and the worker has caught up, so timings below are fair."""
    headers = {"Authorization": f"Bearer {desk.token}"}
    url = f"{desk.base}/console/live?team={desk.it_team_id}"
    deadline = time.monotonic() + 60
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(5, read=20)) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        while "live-ready" not in next(lines):
            pass
        number = desk.new_ticket("Warm-up: the live console is listening")
        for line in lines:
            if line.startswith("data:") and f'"number":{number}' in line:
                return
            if time.monotonic() > deadline:
                break
    pytest.fail("no live notice reached the stream within 60 s")


@pytest.fixture
def two_agents(browser: Browser, live_server: str) -> Iterator[tuple[Page, Page]]:
    """Ian (IT agent) and Lena (IT lead), each in their own browser context."""
    contexts: list[BrowserContext] = []
    pages = []
    for email in ("agent.it@example.com", "lead.it@example.com"):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        login(page, live_server, email)
        pages.append(page)
    yield pages[0], pages[1]
    for context in contexts:
        context.close()  # closes their live streams too


def wait_live(page: Page) -> None:
    expect(page.locator("[data-live]")).to_have_attribute("data-live-state", "live", timeout=10_000)


def test_another_agents_take_updates_the_open_backlog(desk: Desk, two_agents: tuple[Page, Page]) -> None:
    ian, lena = two_agents
    number = desk.new_ticket("Projector in room 2.04 shows no signal")
    ian.goto(desk.base + "/console/teams/it")
    wait_live(ian)
    expect(ian.locator("[data-live-status]")).to_have_text("Live")
    row = ian.locator(f"#row-{number}")
    expect(row.get_by_role("button", name="Take")).to_be_visible()
    ian.evaluate("window.__sameDocument = true")

    # Lena takes it from her own backlog page.
    lena.goto(desk.base + "/console/teams/it")
    lena.locator(f"#row-{number}").get_by_role("button", name="Take").click()
    expect(lena.locator(f"#row-{number}")).to_contain_text("Lena Lead")
    started = time.monotonic()
    expect(row).to_contain_text("Lena Lead", timeout=LIVE_WITHIN_MS)
    print(f"\nLena's take → Ian's row: {(time.monotonic() - started) * 1000:.0f} ms")  # noqa: T201
    expect(row).to_have_class("is-updated")
    expect(row.get_by_role("button", name="Take")).to_have_count(0)
    assert ian.evaluate("window.__sameDocument") is True  # no reload

    # A new request shows up too.
    fresh = desk.new_ticket("Label printer in the mail room is offline")
    expect(ian.locator(f"#row-{fresh}")).to_contain_text("Label printer", timeout=LIVE_WITHIN_MS + 1000)
    assert ian.evaluate("window.__sameDocument") is True
    shot(ian, "console-live-backlog")


def test_selected_rows_are_kept_and_the_refresh_waits(desk: Desk, two_agents: tuple[Page, Page]) -> None:
    ian, _ = two_agents
    first = desk.new_ticket("Keyboard missing keys")
    ian.goto(desk.base + "/console/teams/it")
    wait_live(ian)
    box = ian.locator(f"#row-{first} input[name=ticket_ids]")
    box.check()
    expect(ian.locator("#bulk")).to_be_visible()

    later = desk.new_ticket("Second monitor flickers")
    expect(ian.locator("[data-live-status]")).to_have_text("Live · paused", timeout=LIVE_WITHIN_MS)
    ian.wait_for_timeout(800)
    expect(ian.locator(f"#row-{later}")).to_have_count(0)  # not while rows are selected
    expect(box).to_be_checked()

    box.uncheck()
    expect(ian.locator(f"#row-{later}")).to_be_visible(timeout=LIVE_WITHIN_MS + 1000)
    expect(ian.locator("[data-live-status]")).to_have_text("Live")


def test_ticket_page_warns_of_a_colleagues_change_and_keeps_the_draft(
    desk: Desk, two_agents: tuple[Page, Page]
) -> None:
    ian, lena = two_agents
    number = desk.new_ticket("Printer on floor 4 prints blank pages")
    ian.goto(f"{desk.base}/console/tickets/{number}")
    wait_live(ian)
    draft = "Hi Emma, could you print a test page and tell us what comes out?"
    ian.locator("#reply-body").fill(draft)

    lena.goto(f"{desk.base}/console/tickets/{number}")
    lena.get_by_label("Change priority").locator("select").select_option("1")
    expect(lena.locator("#toasts")).to_contain_text("Priority set to P1")

    banner = ian.locator("#live-banner")
    expect(banner).to_be_visible(timeout=LIVE_WITHIN_MS + 3000)
    expect(banner).to_contain_text("Lena Lead edited this ticket just now")
    expect(banner).to_contain_text("your draft is kept")
    expect(ian.locator("#p-priority option:checked")).to_have_text("P1 · Critical")
    expect(ian.locator(".timeline")).to_contain_text("changed priority")
    expect(ian.locator("#reply-body")).to_have_value(draft)
    shot(ian, "console-live-ticket-banner")

    # The reply was written before Lena's change: it is sent, with the warning.
    ian.get_by_role("button", name="Send reply").click()
    expect(ian.locator(".msg-public").last).to_contain_text("print a test page")
    expect(ian.locator("#toasts")).to_contain_text("Lena Lead changed this ticket while you were writing")

    # Ian's own changes raise no banner.
    ian.locator("[data-live-dismiss]").click()
    expect(banner).to_be_hidden()
    ian.get_by_label("Change priority").locator("select").select_option("2")
    expect(ian.locator("#toasts")).to_contain_text("Priority set to P2")
    ian.wait_for_timeout(1500)
    expect(banner).to_be_hidden()


def test_my_work_shows_a_new_assignment(desk: Desk, two_agents: tuple[Page, Page]) -> None:
    ian, _ = two_agents
    number = desk.new_ticket("Need access to the finance share")
    ian.goto(desk.base + "/console")
    wait_live(ian)
    assigned = ian.locator("section[aria-labelledby=q-assigned]")
    expect(assigned).not_to_contain_text("finance share")
    desk.assign(number, desk.ian_id)  # Lena, through the API
    expect(assigned).to_contain_text("Need access to the finance share", timeout=LIVE_WITHIN_MS)


def test_without_the_live_feed_the_page_falls_back_and_recovers(
    desk: Desk, two_agents: tuple[Page, Page]
) -> None:
    ian, _ = two_agents

    def refuse(route: Route) -> None:
        route.fulfill(status=503, body="")

    ian.route("**/console/live*", refuse)
    ian.goto(desk.base + "/console/teams/it")
    expect(ian.locator("[data-live]")).to_have_attribute("data-live-state", "offline", timeout=5000)
    expect(ian.locator("[data-live-status]")).to_have_text("Updates every 30 s", timeout=6000)
    expect(ian.locator("#results")).to_be_visible()  # the page itself works
    missed = desk.new_ticket("Webcam not detected")  # announced while the feed is down

    ian.unroute("**/console/live*")
    wait_live(ian)  # the SSE extension reconnects by itself
    expect(ian.locator("[data-live-status]")).to_have_text("Live")
    expect(ian.locator(f"#row-{missed}")).to_be_visible(timeout=LIVE_WITHIN_MS)  # caught up
