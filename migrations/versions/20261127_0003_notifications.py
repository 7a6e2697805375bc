"""notifications: deliveries, templates (seeded from templates/email), preferences; admin audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 18:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMAIL_DIR = Path(__file__).resolve().parents[2] / "templates" / "email"
KINDS = (
    "request_received",
    "public_reply",
    "waiting_on_you",
    "request_resolved",
    "ticket_assigned",
    "ticket_reopened",
    "conversation_update",
    "internal_note",
    "mentioned",
)
FILES = {"subject": "subject.txt.j2", "body_text": "body.txt.j2", "body_html": "body.html.j2"}


def upgrade() -> None:
    op.create_table(
        "admin_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("entity", sa.String(length=60), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_admin_changes_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_changes")),
    )
    op.create_index("ix_admin_changes_at", "admin_changes", ["at", "id"], unique=False)
    op.create_index("ix_admin_changes_entity", "admin_changes", ["entity", "entity_id", "at"], unique=False)

    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), server_default="email", nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=False),
        sa.Column("recipient_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("in_reply_to", sa.String(length=255), nullable=True),
        sa.Column("references", sa.Text(), nullable=True),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "sent",
                "failed",
                "dead",
                name="deliverystatus",
                native_enum=False,
                length=20,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("transport", sa.String(length=20), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name=op.f("fk_notification_deliveries_recipient_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_notification_deliveries_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "event_id",
            "recipient_id",
            "channel",
            name=op.f("uq_notification_deliveries_event_id_recipient_id_channel"),
        ),
        sa.UniqueConstraint("message_id", name=op.f("uq_notification_deliveries_message_id")),
    )
    op.create_index(
        "ix_notification_deliveries_created", "notification_deliveries", ["created_at", "id"], unique=False
    )
    op.create_index(
        "ix_notification_deliveries_queued",
        "notification_deliveries",
        ["enqueued_at"],
        unique=False,
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "ix_notification_deliveries_ticket_id", "notification_deliveries", ["ticket_id"], unique=False
    )

    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preferences")),
    )

    templates = op.create_table(
        "notification_templates",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_notification_templates_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_notification_templates")),
    )
    # Templates are data: seed one row per kind from the default files (kinds added later are
    # seeded on first use by helpdesk.notifications.service.ensure_templates).
    now = datetime.now(UTC)
    rows = []
    for kind in KINDS:
        values = {name: (EMAIL_DIR / kind / file).read_text(encoding="utf-8") for name, file in FILES.items()}
        values["subject"] = values["subject"].strip()
        rows.append({"kind": kind, **values, "updated_at": now})
    op.bulk_insert(templates, rows)


def downgrade() -> None:
    op.drop_table("notification_templates")
    op.drop_table("notification_preferences")
    op.drop_index("ix_notification_deliveries_ticket_id", table_name="notification_deliveries")
    op.drop_index(
        "ix_notification_deliveries_queued",
        table_name="notification_deliveries",
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.drop_index("ix_notification_deliveries_created", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_index("ix_admin_changes_entity", table_name="admin_changes")
    op.drop_index("ix_admin_changes_at", table_name="admin_changes")
    op.drop_table("admin_changes")
