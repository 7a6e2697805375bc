"""Test database built by the Alembic migrations once per session (one per xdist worker);
every test runs in an outer transaction that is rolled back (savepoints inside)."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

import pytest

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_BASE = os.environ.get("TEST_DATABASE_BASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
TEST_DATABASE_URL = f"{_BASE}/{os.environ.get('TEST_DB_PREFIX', 'helpdesk_test')}_{_WORKER}"
os.environ["DATABASE_URL"] = TEST_DATABASE_URL
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ["REDIS_NAMESPACE"] = f"hdtest-{os.environ.get('TEST_DB_PREFIX', 'helpdesk_test')}-{_WORKER}"
os.environ["REDIS_URL"] = (
    f"redis://127.0.0.1:6379/{10 + (int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0) % 5}"
)

from litestar.di import Provide  # noqa: E402
from litestar.testing import TestClient  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from helpdesk.identity.viewer import Viewer  # noqa: E402
from tests.factories import Factory  # noqa: E402


def _recreate_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from helpdesk.config import PROJECT_ROOT

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "head")


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    _recreate_database(TEST_DATABASE_URL)
    migrate(TEST_DATABASE_URL)
    from helpdesk.db import get_engine

    eng = get_engine(TEST_DATABASE_URL)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def factory(db: Session) -> Factory:
    return Factory(db)


class _CurrentDb:
    session: Session | None = None


@pytest.fixture(scope="session")
def _test_app(engine: Engine) -> Any:
    """Built once: its db dependency hands out the running test's session."""
    from helpdesk.app import create_app

    async def provide_test_db() -> AsyncGenerator[Session, None]:
        db = _CurrentDb.session
        assert db is not None, "app_client used outside a test"
        # Release what the test wrote so far, so a request that fails rolls back only itself.
        db.commit()
        try:
            yield db
            db.commit()  # releases the savepoint only; the outer transaction is rolled back later
        except BaseException:
            db.rollback()
            raise

    return create_app(db_provider=Provide(provide_test_db))


@pytest.fixture
def app_client(db: Session, _test_app: Any) -> Iterator[Callable[..., TestClient[Any]]]:
    """Builds TestClients whose requests share the test's transaction."""
    _CurrentDb.session = db
    clients: list[TestClient[Any]] = []

    def make(viewer: Viewer | None = None, **kwargs: Any) -> TestClient[Any]:
        # Not entered as a context manager: the app has no lifespan work, and entering several
        # clients of one app makes their lifespan shutdowns wait on each other.
        client: TestClient[Any] = TestClient(_test_app, raise_server_exceptions=False, **kwargs)
        clients.append(client)
        if viewer is not None:
            Factory(db).login(client, viewer)
        return client

    yield make
    clients.clear()
    _CurrentDb.session = None
