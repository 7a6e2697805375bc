"""Real `helpdesk` processes on a database and Redis namespace of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import Engine, create_engine

from tests.conftest import TEST_DATABASE_URL, _recreate_database, migrate

BIN = Path(sys.executable).parent


def _flush(client: redis.Redis, namespace: str) -> None:
    for key in client.scan_iter(namespace + ":*"):
        client.delete(key)


@contextmanager
def isolated_env(suffix: str, **extra: str) -> Iterator[tuple[dict[str, str], Engine]]:
    """A fresh, migrated, demo-seeded database `<test db>_<suffix>` and an empty Redis namespace
    `<test namespace>-<suffix>`; yields the environment for `helpdesk` processes and an engine."""
    url = f"{TEST_DATABASE_URL}_{suffix}"
    _recreate_database(url)
    migrate(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_NAMESPACE": f"{os.environ['REDIS_NAMESPACE']}-{suffix}",
        **extra,
    }
    subprocess.run([BIN / "helpdesk", "demo", "seed"], env=env, check=True, capture_output=True)
    client = redis.Redis.from_url(env["REDIS_URL"])
    engine = create_engine(url)
    try:
        _flush(client, env["REDIS_NAMESPACE"])
        yield env, engine
    finally:
        engine.dispose()
        _flush(client, env["REDIS_NAMESPACE"])
        client.close()
