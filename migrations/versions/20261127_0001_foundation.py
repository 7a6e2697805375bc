"""foundation

Revision ID: 0001
Revises:
Create Date: 2026-11-27 14:38:23.614773
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("ticket_number_seq", start=1001)))
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "statuses",
        sa.Column("id", sa.SmallInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "new",
                "open",
                "pending",
                "resolved",
                "closed",
                name="statuscategory",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statuses")),
        sa.UniqueConstraint("key", name=op.f("uq_statuses_key")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("icon", sa.String(length=40), server_default="help", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("slug", name=op.f("uq_teams_slug")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "requester",
                "agent",
                "lead",
                "admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("department", sa.String(length=120), nullable=True),
        sa.Column("location", sa.String(length=120), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "categories",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("guidance", sa.Text(), server_default="", nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("default_priority", sa.SmallInteger(), server_default="3", nullable=False),
        sa.Column("position", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["categories.id"], name=op.f("fk_categories_parent_id_categories")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_categories_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("slug", name=op.f("uq_categories_slug")),
    )
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_saved_filters_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_filters_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filters")),
    )
    op.create_index("ix_saved_filters_team_id", "saved_filters", ["team_id"], unique=False)
    op.create_index("ix_saved_filters_user_id", "saved_filters", ["user_id"], unique=False)
    op.create_table(
        "status_transitions",
        sa.Column("from_status_id", sa.SmallInteger(), nullable=False),
        sa.Column("to_status_id", sa.SmallInteger(), nullable=False),
        sa.Column("requester_allowed", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(
            ["from_status_id"],
            ["statuses.id"],
            name=op.f("fk_status_transitions_from_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_status_id"],
            ["statuses.id"],
            name=op.f("fk_status_transitions_to_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("from_status_id", "to_status_id", name=op.f("pk_status_transitions")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_team_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"], unique=False)
    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_user_sessions")),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "number", sa.BigInteger(), server_default=sa.text("nextval('ticket_number_seq')"), nullable=False
        ),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=True),
        sa.Column("status_id", sa.SmallInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("requester_id", sa.BigInteger(), nullable=False),
        sa.Column("requester_department", sa.String(length=120), nullable=True),
        sa.Column("requester_location", sa.String(length=120), nullable=True),
        sa.Column(
            "channel",
            sa.Enum(
                "portal", "email", "api", name="channel", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=50)), server_default="{}", nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('simple', coalesce(subject, '')), 'A') || setweight(to_tsvector('simple', left(coalesce(description, ''), 20000)), 'B')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("priority BETWEEN 1 AND 4", name=op.f("ck_tickets_priority_range")),
        sa.CheckConstraint(
            "severity IS NULL OR severity BETWEEN 1 AND 4", name=op.f("ck_tickets_severity_range")
        ),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_tickets_assignee_id_users")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_tickets_category_id_categories")
        ),
        sa.ForeignKeyConstraint(["requester_id"], ["users.id"], name=op.f("fk_tickets_requester_id_users")),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], name=op.f("fk_tickets_status_id_statuses")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_tickets_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
    )
    op.create_index(
        "ix_tickets_assignee_status_updated",
        "tickets",
        ["assignee_id", "status_id", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_tickets_requester_created",
        "tickets",
        ["requester_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_tickets_requester_updated",
        "tickets",
        ["requester_id", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index("ix_tickets_search", "tickets", ["search"], unique=False, postgresql_using="gin")
    op.create_index(
        "ix_tickets_status_team_updated",
        "tickets",
        ["status_id", "team_id", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index("ix_tickets_tags", "tickets", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(
        "ix_tickets_team_updated",
        "tickets",
        ["team_id", sa.literal_column("updated_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_idempotency_keys_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_ticket_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index("ix_ticket_events_ticket_at", "ticket_events", ["ticket_id", "at", "id"], unique=False)
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "visibility",
            sa.Enum(
                "public", "internal", name="visibility", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum(
                "portal", "email", "api", name="channel", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_ticket_messages_author_id_users")),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
    )
    op.create_index(
        "ix_ticket_messages_ticket_created", "ticket_messages", ["ticket_id", "created_at"], unique=False
    )
    op.create_table(
        "ticket_shares",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "permission",
            sa.Enum(
                "read", "write", name="sharepermission", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(team_id IS NULL) <> (user_id IS NULL)", name=op.f("ck_ticket_shares_one_target")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_ticket_shares_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_ticket_shares_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_shares_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ticket_shares_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_shares")),
        sa.UniqueConstraint("ticket_id", "team_id", name=op.f("uq_ticket_shares_ticket_id_team_id")),
        sa.UniqueConstraint("ticket_id", "user_id", name=op.f("uq_ticket_shares_ticket_id_user_id")),
    )
    op.create_index("ix_ticket_shares_team_id", "ticket_shares", ["team_id", "ticket_id"], unique=False)
    op.create_index("ix_ticket_shares_user_id", "ticket_shares", ["user_id", "ticket_id"], unique=False)
    op.create_table(
        "ticket_watchers",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_watchers_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ticket_watchers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "user_id", name=op.f("pk_ticket_watchers")),
    )
    op.create_index("ix_ticket_watchers_user_id", "ticket_watchers", ["user_id"], unique=False)

    # The ticket event stream is append-only, enforced below the application.
    op.execute(
        """
        CREATE FUNCTION ticket_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ticket_events is append-only';
        END $$;
        CREATE TRIGGER ticket_events_no_update BEFORE UPDATE OR DELETE ON ticket_events
            FOR EACH ROW EXECUTE FUNCTION ticket_events_immutable();
        """
    )
    _seed_workflow()


# spec §6.1: the recommended statuses; admins edit these rows later.
STATUSES = [
    ("new", "New", "new"),
    ("triaged", "Triaged", "open"),
    ("assigned", "Assigned", "open"),
    ("in_progress", "In Progress", "open"),
    ("waiting_requester", "Waiting on Requester", "pending"),
    ("waiting_vendor", "Waiting on Vendor", "pending"),
    ("resolved", "Resolved", "resolved"),
    ("closed", "Closed", "closed"),
    ("reopened", "Reopened", "open"),
]
WORKING = ["triaged", "assigned", "in_progress", "waiting_requester", "waiting_vendor", "resolved", "closed"]
TRANSITIONS = {
    "new": WORKING,
    "triaged": [s for s in WORKING if s != "triaged"],
    "assigned": ["triaged", "in_progress", "waiting_requester", "waiting_vendor", "resolved", "closed"],
    "in_progress": ["assigned", "waiting_requester", "waiting_vendor", "resolved", "closed"],
    "waiting_requester": ["in_progress", "resolved", "closed"],
    "waiting_vendor": ["in_progress", "resolved", "closed"],
    "resolved": ["closed", "reopened"],
    "closed": ["reopened"],
    "reopened": [
        "triaged",
        "assigned",
        "in_progress",
        "waiting_requester",
        "waiting_vendor",
        "resolved",
        "closed",
    ],
}
# A requester may close their own request at any point, and reopen one that is resolved or closed.
REQUESTER_MOVES = {(s, "closed") for s in TRANSITIONS if "closed" in TRANSITIONS[s]} | {
    ("resolved", "reopened"),
    ("closed", "reopened"),
}


def _seed_workflow() -> None:
    statuses = sa.table(
        "statuses", sa.column("key"), sa.column("name"), sa.column("category"), sa.column("position")
    )
    op.bulk_insert(
        statuses,
        [{"key": k, "name": n, "category": c, "position": i} for i, (k, n, c) in enumerate(STATUSES)],
    )
    for source, targets in TRANSITIONS.items():
        for target in targets:
            op.execute(
                sa.text(
                    "INSERT INTO status_transitions (from_status_id, to_status_id, requester_allowed) "
                    "SELECT f.id, t.id, :req FROM statuses f, statuses t WHERE f.key = :f AND t.key = :t"
                ).bindparams(f=source, t=target, req=(source, target) in REQUESTER_MOVES)
            )


def downgrade() -> None:
    op.drop_index("ix_ticket_watchers_user_id", table_name="ticket_watchers")
    op.drop_table("ticket_watchers")
    op.drop_index("ix_ticket_shares_user_id", table_name="ticket_shares")
    op.drop_index("ix_ticket_shares_team_id", table_name="ticket_shares")
    op.drop_table("ticket_shares")
    op.drop_index("ix_ticket_messages_ticket_created", table_name="ticket_messages")
    op.drop_table("ticket_messages")
    op.drop_index("ix_ticket_events_ticket_at", table_name="ticket_events")
    op.drop_table("ticket_events")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_tickets_team_updated", table_name="tickets")
    op.drop_index("ix_tickets_tags", table_name="tickets", postgresql_using="gin")
    op.drop_index("ix_tickets_status_team_updated", table_name="tickets")
    op.drop_index("ix_tickets_search", table_name="tickets", postgresql_using="gin")
    op.drop_index("ix_tickets_requester_updated", table_name="tickets")
    op.drop_index("ix_tickets_requester_created", table_name="tickets")
    op.drop_index("ix_tickets_assignee_status_updated", table_name="tickets")
    op.drop_table("tickets")
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_index("ix_team_members_user_id", table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("status_transitions")
    op.drop_index("ix_saved_filters_user_id", table_name="saved_filters")
    op.drop_index("ix_saved_filters_team_id", table_name="saved_filters")
    op.drop_table("saved_filters")
    op.drop_table("categories")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
    op.drop_table("teams")
    op.drop_table("statuses")
    op.drop_index(
        "ix_outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL")
    )
    op.drop_table("outbox")
    op.execute(sa.schema.DropSequence(sa.Sequence("ticket_number_seq")))
    op.execute("DROP FUNCTION IF EXISTS ticket_events_immutable()")
