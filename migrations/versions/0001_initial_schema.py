"""The initial schema: agents, workflows and their versions, runs with steps and events, audit log, outbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Spelled out here rather than imported: a revision must keep creating the schema it was written for.
TEXT = sa.Text()
NAME = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LIVE = sa.text("deleted_at IS NULL")


def _partial_index(name: str, table: str, columns: list[str], where: sa.TextClause, unique: bool = False) -> None:
    op.create_index(name, table, columns, unique=unique, sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("url", TEXT, nullable=False),
        sa.Column("health_url", TEXT, nullable=False),
        sa.Column("description", TEXT),
        sa.Column("auth_type", TEXT, nullable=False),
        sa.Column("auth_public", JSON, nullable=False),
        sa.Column("auth_secret", TEXT),
        sa.Column("timeout_ms", sa.Integer(), nullable=False),
        sa.Column("retry", JSON, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("last_health", JSON),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("deleted_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
    )
    _partial_index("ux_agents_live_name", "agents", ["name"], LIVE, unique=True)
    op.create_index("ix_agents_status", "agents", ["status"])
    op.create_index("ix_agents_created_at", "agents", ["created_at"])

    op.create_table(
        "workflows",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("created_by", TEXT, nullable=False),
        sa.Column("deleted_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_workflows"),
    )
    _partial_index("ux_workflows_live_name", "workflows", ["name"], LIVE, unique=True)
    op.create_index("ix_workflows_status", "workflows", ["status"])
    op.create_index("ix_workflows_created_at", "workflows", ["created_at"])

    op.create_table(
        "workflow_versions",
        sa.Column("workflow_id", TEXT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("workflow_id", "version", name="pk_workflow_versions"),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], name="fk_workflow_versions_workflow_id"),
    )

    op.create_table(
        "runs",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("workflow_id", TEXT, nullable=False),
        sa.Column("workflow_name", TEXT, nullable=False),
        sa.Column("workflow_version", sa.Integer(), nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("input", JSON),
        sa.Column("output", JSON),
        sa.Column("error", JSON),
        sa.Column("triggered_by", TEXT, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("started_at", TIME),
        sa.Column("finished_at", TIME),
        sa.Column("cancel_requested_at", TIME),
        sa.Column("cancelled_at", TIME),
        sa.Column("cancelled_by", TEXT),
        sa.Column("request_id", TEXT),
        sa.Column("idempotency_key", TEXT),
        sa.Column("lease_owner", TEXT),
        sa.Column("lease_expires_at", TIME),
        sa.Column("lease_token", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["workflow_id", "workflow_version"],
            ["workflow_versions.workflow_id", "workflow_versions.version"],
            name="fk_runs_workflow_id_workflow_version",
        ),
    )
    op.create_index("ux_runs_idempotency_key", "runs", ["workflow_id", "idempotency_key"], unique=True)
    op.create_index("ix_runs_workflow_created", "runs", ["workflow_id", "created_at"])
    op.create_index("ix_runs_status_created", "runs", ["status", "created_at"])
    op.create_index("ix_runs_triggered_by_created", "runs", ["triggered_by", "created_at"])
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    _partial_index("ix_runs_claimable", "runs", ["created_at"], sa.text("status IN ('pending', 'running')"))

    op.create_table(
        "step_executions",
        sa.Column("run_id", TEXT, nullable=False),
        sa.Column("step_id", TEXT, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("agent_id", TEXT),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("input", JSON),
        sa.Column("output", JSON),
        sa.Column("error", JSON),
        sa.Column("attempts", JSON, nullable=False),
        sa.Column("started_at", TIME),
        sa.Column("finished_at", TIME),
        sa.PrimaryKeyConstraint("run_id", "step_id", name="pk_step_executions"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_step_executions_run_id"),
    )

    op.create_table(
        "run_events",
        sa.Column("seq", SEQ, nullable=False, autoincrement=True),
        sa.Column("run_id", TEXT, nullable=False),
        sa.Column("type", TEXT, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("step_id", TEXT),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_run_events"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_events_run_id"),
    )
    op.create_index("ix_run_events_run_seq", "run_events", ["run_id", "seq"])

    op.create_table(
        "audit_log",
        sa.Column("seq", SEQ, nullable=False, autoincrement=True),
        sa.Column("id", TEXT, nullable=False),
        sa.Column("entity_type", TEXT, nullable=False),
        sa.Column("entity_id", TEXT, nullable=False),
        sa.Column("action", TEXT, nullable=False),
        sa.Column("user_id", TEXT, nullable=False),
        sa.Column("request_id", TEXT),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("timestamp", TIME, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
        sa.UniqueConstraint("id", name="uq_audit_log_id"),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id", "timestamp"])
    op.create_index("ix_audit_log_user", "audit_log", ["user_id", "timestamp"])
    op.create_index("ix_audit_log_timestamp", "audit_log", ["timestamp"])

    op.create_table(
        "outbox",
        sa.Column("seq", SEQ, nullable=False, autoincrement=True),
        sa.Column("id", TEXT, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("run_id", TEXT, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("request_id", TEXT),
        sa.Column("sent_at", TIME),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox"),
        sa.UniqueConstraint("id", name="uq_outbox_id"),
    )
    _partial_index("ix_outbox_unsent", "outbox", ["seq"], sa.text("sent_at IS NULL"))


def downgrade() -> None:
    dependants_first = ("outbox", "audit_log", "run_events", "step_executions", "runs", "workflow_versions")
    for table in (*dependants_first, "workflows", "agents"):
        op.drop_table(table)
