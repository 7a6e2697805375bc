"""scheduler jobs, daily digest subscriptions, team chat webhooks; deliveries for both;
indexes for the retention sweeps

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 18:42:36.654878
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduler_jobs",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_jobs")),
    )
    op.create_table(
        "digest_subscriptions",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("hour BETWEEN 0 AND 23", name=op.f("ck_digest_subscriptions_hour_range")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_digest_subscriptions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_digest_subscriptions")),
    )
    op.create_table(
        "team_webhooks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "slack", "teams", name="webhookprovider", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("min_priority", sa.SmallInteger(), server_default="4", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("min_priority BETWEEN 1 AND 4", name=op.f("ck_team_webhooks_min_priority_range")),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_webhooks_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_team_webhooks_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_webhooks")),
    )
    op.create_index("ix_team_webhooks_team_id", "team_webhooks", ["team_id"], unique=False)
    op.add_column("notification_deliveries", sa.Column("webhook_id", sa.BigInteger(), nullable=True))
    op.add_column("notification_deliveries", sa.Column("digest_date", sa.Date(), nullable=True))
    op.alter_column("notification_deliveries", "event_id", existing_type=sa.BIGINT(), nullable=True)
    op.alter_column("notification_deliveries", "recipient_id", existing_type=sa.BIGINT(), nullable=True)
    op.create_index(
        "uq_notification_deliveries_digest",
        "notification_deliveries",
        ["recipient_id", "kind", "digest_date"],
        unique=True,
        postgresql_where=sa.text("digest_date IS NOT NULL"),
    )
    op.create_index(
        "uq_notification_deliveries_webhook",
        "notification_deliveries",
        ["event_id", "webhook_id"],
        unique=True,
        postgresql_where=sa.text("webhook_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_notification_deliveries_webhook_id_team_webhooks"),
        "notification_deliveries",
        "team_webhooks",
        ["webhook_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_check_constraint(
        op.f("ck_notification_deliveries_email_has_recipient"),
        "notification_deliveries",
        "channel <> 'email' OR recipient_id IS NOT NULL",
    )
    op.create_index(
        "ix_processed_messages_processed_at", "processed_messages", ["processed_at"], unique=False
    )
    op.create_index("ix_user_sessions_expires_at", "user_sessions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_user_sessions_expires_at", table_name="user_sessions")
    op.drop_index("ix_processed_messages_processed_at", table_name="processed_messages")
    op.execute("DELETE FROM notification_deliveries WHERE event_id IS NULL OR recipient_id IS NULL")
    op.drop_constraint(
        op.f("ck_notification_deliveries_email_has_recipient"), "notification_deliveries", type_="check"
    )
    op.drop_constraint(
        op.f("fk_notification_deliveries_webhook_id_team_webhooks"),
        "notification_deliveries",
        type_="foreignkey",
    )
    op.drop_index(
        "uq_notification_deliveries_webhook",
        table_name="notification_deliveries",
        postgresql_where=sa.text("webhook_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_notification_deliveries_digest",
        table_name="notification_deliveries",
        postgresql_where=sa.text("digest_date IS NOT NULL"),
    )
    op.alter_column("notification_deliveries", "recipient_id", existing_type=sa.BIGINT(), nullable=False)
    op.alter_column("notification_deliveries", "event_id", existing_type=sa.BIGINT(), nullable=False)
    op.drop_column("notification_deliveries", "digest_date")
    op.drop_column("notification_deliveries", "webhook_id")
    op.drop_index("ix_team_webhooks_team_id", table_name="team_webhooks")
    op.drop_table("team_webhooks")
    op.drop_table("digest_subscriptions")
    op.drop_table("scheduler_jobs")
