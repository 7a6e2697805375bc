"""tickets (updated_at DESC, id DESC) for all-tickets lists and search

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_updated", "tickets", [sa.text("updated_at DESC"), sa.text("id DESC")], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_updated", table_name="tickets")
