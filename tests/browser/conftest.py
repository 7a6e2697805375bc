"""A real server process on a freshly migrated, demo-seeded database, driven by Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import TEST_DATABASE_URL

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BIN = Path(sys.executable).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One worker runs every browser test, so one Chromium and one server serve them all.
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("browser"))
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does this)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


DATABASE_URL = TEST_DATABASE_URL + "_browser"  # the live_server's database


def server_env() -> dict[str, str]:
    """The environment of the live server and the worker and publisher that serve it.

    Their own Redis namespace: a worker process left running on this xdist worker's namespace
    would take messages off the queues that in-process test workers listen on."""
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_NAMESPACE": os.environ["REDIS_NAMESPACE"] + "-browser",
        "HELPDESK_DEBUG": "0",
    }


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database_url = DATABASE_URL
    env = server_env()
    from tests.conftest import _recreate_database

    _recreate_database(database_url)
    redis_client = redis.Redis.from_url(env["REDIS_URL"])
    for key in redis_client.scan_iter(env["REDIS_NAMESPACE"] + ":*"):  # queues of an earlier run
        redis_client.delete(key)
    redis_client.close()
    subprocess.run([BIN / "helpdesk", "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([BIN / "helpdesk", "demo", "seed"], env=env, check=True, capture_output=True)
    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "web.log").open("w")
    proc = subprocess.Popen(
        [BIN / "helpdesk", "web", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"web server did not start; see {log.name}")
        time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    log.close()
