"""Engine, session factory, declarative base and the transaction helper."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

import psycopg
from sqlalchemy import DateTime, Engine, MetaData, create_engine, func
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from helpdesk.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class CreatedAt:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    return create_engine(
        url or get_settings().database_url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        # JIT compilation costs 100-400 ms on count/search plans and never pays off for
        # queries that return in milliseconds once indexed (docs/PERFORMANCE.md).
        connect_args={"options": "-c jit=off"},
    )


@lru_cache(maxsize=4)
def _factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def new_session(engine: Engine | None = None) -> Session:
    return _factory(engine or get_engine())()


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work for the CLI and actors: commit on success, roll back on error."""
    with new_session(engine) as session, session.begin():
        yield session


def raw_connection() -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit psycopg connection outside the pool, for what lives as long as the
    connection does: LISTEN (the publisher) and session advisory locks (the scheduler)."""
    url = make_url(get_settings().database_url)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        autocommit=True,
    )
