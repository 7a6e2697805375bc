"""async backbone

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:34:08.587964
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("actor_name", sa.String(length=80), nullable=False),
        sa.Column("queue_name", sa.String(length=80), nullable=False),
        sa.Column("message_id", sa.String(length=80), nullable=False),
        sa.Column("message", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(
        "ix_dead_letters_open",
        "dead_letters",
        ["id"],
        unique=False,
        postgresql_where=sa.text("replayed_at IS NULL"),
    )
    op.create_table(
        "processed_messages",
        sa.Column("consumer", sa.String(length=80), nullable=False),
        sa.Column("message_id", sa.String(length=80), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("consumer", "message_id", name=op.f("pk_processed_messages")),
    )


def downgrade() -> None:
    op.drop_table("processed_messages")
    op.drop_index(
        "ix_dead_letters_open", table_name="dead_letters", postgresql_where=sa.text("replayed_at IS NULL")
    )
    op.drop_table("dead_letters")
