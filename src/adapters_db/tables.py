"""The schema, one for SQLite and PostgreSQL, as SQLAlchemy Core tables.

Soft-deleted agents and workflows keep their rows; partial unique indexes (`WHERE deleted_at IS NULL`)
let a new one take a deleted one's name. Event, audit and outbox rows get an autoincrement `seq`
that orders them.
"""

from __future__ import annotations

import sqlalchemy as sa

from adapters_db.types import StorableText, UtcDateTime, json_type, name_type

metadata = sa.MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

# BIGSERIAL on PostgreSQL; SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY.
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LIVE = sa.text("deleted_at IS NULL")
_UNSENT = sa.text("sent_at IS NULL")
_CLAIMABLE = sa.text("status IN ('pending', 'running')")


def _partial_index(name: str, *columns: str, where: sa.TextClause, unique: bool = False) -> sa.Index:
    """An index of the rows matching `where` only (both databases support partial indexes)."""
    return sa.Index(name, *columns, unique=unique, sqlite_where=where, postgresql_where=where)


agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", StorableText(), primary_key=True),
    sa.Column("name", name_type(), nullable=False),
    sa.Column("url", StorableText(), nullable=False),
    sa.Column("health_url", StorableText(), nullable=False),
    sa.Column("description", StorableText()),
    sa.Column("auth_type", StorableText(), nullable=False),
    sa.Column("auth_public", json_type(), nullable=False),
    sa.Column("auth_secret", StorableText()),
    sa.Column("timeout_ms", sa.Integer(), nullable=False),
    sa.Column("retry", json_type(), nullable=False),
    sa.Column("status", StorableText(), nullable=False),
    sa.Column("last_health", json_type()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("deleted_at", UtcDateTime()),
    _partial_index("ux_agents_live_name", "name", where=_LIVE, unique=True),
    sa.Index("ix_agents_status", "status"),
    sa.Index("ix_agents_created_at", "created_at"),
)

workflows = sa.Table(
    "workflows",
    metadata,
    sa.Column("id", StorableText(), primary_key=True),
    sa.Column("name", name_type(), nullable=False),
    sa.Column("status", StorableText(), nullable=False),
    sa.Column("latest_version", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("created_by", StorableText(), nullable=False),
    sa.Column("deleted_at", UtcDateTime()),
    _partial_index("ux_workflows_live_name", "name", where=_LIVE, unique=True),
    sa.Index("ix_workflows_status", "status"),
    sa.Index("ix_workflows_created_at", "created_at"),
)

workflow_versions = sa.Table(
    "workflow_versions",
    metadata,
    sa.Column("workflow_id", StorableText(), sa.ForeignKey("workflows.id"), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("definition", json_type(), nullable=False),
    # Plain JSON, not JSONB: the document is returned exactly as saved, keys in their order.
    sa.Column("document", sa.JSON(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("created_by", StorableText(), nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", StorableText(), primary_key=True),
    sa.Column("workflow_id", StorableText(), nullable=False),
    sa.Column("workflow_name", StorableText(), nullable=False),
    sa.Column("workflow_version", sa.Integer(), nullable=False),
    sa.Column("status", StorableText(), nullable=False),
    sa.Column("input", json_type()),
    sa.Column("output", json_type()),
    sa.Column("error", json_type()),
    sa.Column("triggered_by", StorableText(), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("started_at", UtcDateTime()),
    sa.Column("finished_at", UtcDateTime()),
    sa.Column("cancel_requested_at", UtcDateTime()),
    sa.Column("cancelled_at", UtcDateTime()),
    sa.Column("cancelled_by", StorableText()),
    sa.Column("request_id", StorableText()),
    sa.Column("idempotency_key", StorableText()),
    sa.Column("lease_owner", StorableText()),
    sa.Column("lease_expires_at", UtcDateTime()),
    # NULL until the first claim; every claim adds one, a release keeps it (the fencing token).
    sa.Column("lease_token", sa.Integer()),
    sa.ForeignKeyConstraint(
        ["workflow_id", "workflow_version"], ["workflow_versions.workflow_id", "workflow_versions.version"]
    ),
    sa.Index("ux_runs_idempotency_key", "workflow_id", "idempotency_key", unique=True),
    sa.Index("ix_runs_workflow_created", "workflow_id", "created_at"),
    sa.Index("ix_runs_status_created", "status", "created_at"),
    sa.Index("ix_runs_triggered_by_created", "triggered_by", "created_at"),
    sa.Index("ix_runs_created_at", "created_at"),
    _partial_index("ix_runs_claimable", "created_at", where=_CLAIMABLE),
)

step_executions = sa.Table(
    "step_executions",
    metadata,
    sa.Column("run_id", StorableText(), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("step_id", StorableText(), primary_key=True),
    # The step's place in the definition: steps are listed in the order they were declared.
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("agent_id", StorableText()),
    sa.Column("status", StorableText(), nullable=False),
    sa.Column("input", json_type()),
    sa.Column("output", json_type()),
    sa.Column("error", json_type()),
    sa.Column("attempts", json_type(), nullable=False),
    sa.Column("started_at", UtcDateTime()),
    sa.Column("finished_at", UtcDateTime()),
)

run_events = sa.Table(
    "run_events",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("run_id", StorableText(), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("type", StorableText(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("step_id", StorableText()),
    sa.Column("data", json_type(), nullable=False),
    sa.Index("ix_run_events_run_seq", "run_id", "seq"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("id", StorableText(), nullable=False, unique=True),
    sa.Column("entity_type", StorableText(), nullable=False),
    sa.Column("entity_id", StorableText(), nullable=False),
    sa.Column("action", StorableText(), nullable=False),
    sa.Column("user_id", StorableText(), nullable=False),
    sa.Column("request_id", StorableText()),
    sa.Column("changes", json_type(), nullable=False),
    sa.Column("timestamp", UtcDateTime(), nullable=False),
    sa.Index("ix_audit_log_entity", "entity_type", "entity_id", "timestamp"),
    sa.Index("ix_audit_log_user", "user_id", "timestamp"),
    sa.Index("ix_audit_log_timestamp", "timestamp"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("id", StorableText(), nullable=False, unique=True),
    sa.Column("kind", StorableText(), nullable=False),
    sa.Column("run_id", StorableText(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("request_id", StorableText()),
    sa.Column("sent_at", UtcDateTime()),
    _partial_index("ix_outbox_unsent", "seq", where=_UNSENT),
)
