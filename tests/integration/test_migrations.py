from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from helpdesk.models import Base


def test_models_and_migrations_agree(engine: Engine) -> None:
    """`alembic check` in the suite: a model change without its migration fails here."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
