"""Check that Postgres and Redis answer before starting, and say how to fix it if not."""

from __future__ import annotations

import sys

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from helpdesk.config import get_settings

PG_HINT = (
    "Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
    "  or point DATABASE_URL at a running server (docker compose up postgres)."
)
REDIS_HINT = (
    "Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no\n"
    "  or point REDIS_URL at a running server (docker compose up redis)."
)


def check() -> list[str]:
    settings = get_settings()
    problems: list[str] = []
    url = make_url(settings.database_url)
    server = url.set(database="postgres")
    try:
        engine = create_engine(server, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError:
        problems.append(
            f"PostgreSQL is not reachable at {url.host or 'localhost'}:{url.port or 5432}.\n  {PG_HINT}"
        )
    try:
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError:
        problems.append(f"Redis is not reachable at {settings.redis_url}.\n  {REDIS_HINT}")
    return problems


def main() -> int:
    problems = check()
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
