"""PostgreSQL: a new run stored in one statement, in place of a transaction's eight round trips.

The statement stores the run, its steps, its first event, its audit entry and its dispatch only if the
workflow is live and active, still at the expected latest version and has the run's version (a database
restored to an earlier point may not), and no run of the workflow has the
idempotency key (the unique index decides, waiting for a concurrent insert of the same key to end). Like
the engine's fenced writes, the rows travel as one JSON document.
"""

from __future__ import annotations

from typing import Any

from adapters_db import direct, tables
from adapters_db.engine import Database
from adapters_db.mappers import audit_row, dispatch_row, event_row, new_step_rows, run_row
from adapters_db.transaction import unstorable
from adapters_db.types import UnstorableValue, UtcDateTime, json_dumps
from wfcore.domain.workflows import WorkflowStatus
from wfcore.ports.persistence import NewRun

_RUN_COLUMNS = [column.name for column in tables.runs.c if not column.name.startswith("lease_")]
_STEP_COLUMNS = [column.name for column in tables.step_executions.c]
_EVENT_COLUMNS = [column.name for column in tables.run_events.c if column.name != "seq"]
_AUDIT_COLUMNS = [column.name for column in tables.audit_log.c if column.name != "seq"]
_DISPATCH_COLUMNS = [column.name for column in tables.outbox.c if column.name not in ("seq", "sent_at")]
_IF_STORED = "EXISTS (SELECT FROM new_run)"

_STATEMENT = f"""
WITH workflow AS (
    SELECT FROM workflows
    WHERE id = $2 AND deleted_at IS NULL AND status = '{WorkflowStatus.ACTIVE.value}'
        AND ($3::int IS NULL OR latest_version = $3::int)
        AND EXISTS (SELECT FROM workflow_versions WHERE workflow_id = $2 AND version = $4)
), new_run AS (
    {direct.insert_from_json(tables.runs, _RUN_COLUMNS, "$1::jsonb -> 'run'", where="EXISTS (SELECT FROM workflow)")}
    ON CONFLICT (workflow_id, idempotency_key) DO NOTHING
    RETURNING id
), steps AS (
    {direct.insert_from_json(tables.step_executions, _STEP_COLUMNS, "$1::jsonb -> 'steps'", where=_IF_STORED)}
), events AS (
    {direct.insert_from_json(tables.run_events, _EVENT_COLUMNS, "$1::jsonb -> 'events'", where=_IF_STORED)}
), audit AS (
    {direct.insert_from_json(tables.audit_log, _AUDIT_COLUMNS, "$1::jsonb -> 'audit'", where=_IF_STORED)}
), dispatch AS (
    {direct.insert_from_json(tables.outbox, _DISPATCH_COLUMNS, "$1::jsonb -> 'dispatch'", where=_IF_STORED)}
)
SELECT EXISTS (SELECT FROM new_run) AS stored
"""
_TIMES = {
    column
    for table in (tables.runs, tables.step_executions, tables.run_events, tables.audit_log, tables.outbox)
    for column in direct.columns_of(table, UtcDateTime)
}


class PostgresDirectStarts:
    """`DirectStarts` on a PostgreSQL `Database`: one statement per run, on a pooled connection."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def start(self, new: NewRun, *, latest_version: int | None) -> bool:
        try:
            document = _document(new)
        except UnstorableValue as error:
            raise unstorable(error) from None
        run = new.run
        [row] = await direct.fetch(
            self._database, _STATEMENT, document, run.workflow_id, latest_version, run.workflow_version
        )
        stored: bool = row["stored"]
        return stored


def _document(new: NewRun) -> str:
    rows: dict[str, list[dict[str, Any]]] = {
        "run": [run_row(new.run)],
        "steps": new_step_rows(new.steps),
        "events": [event_row(event) for event in new.events],
        "audit": [audit_row(new.audit)],
        "dispatch": [dispatch_row(new.dispatch)],
    }
    return json_dumps({key: [direct.times_as_text(row, _TIMES) for row in table] for key, table in rows.items()})


def direct_starts_for(database: Database) -> PostgresDirectStarts | None:
    """New runs in one statement on PostgreSQL; None on SQLite, whose statements cost no round trip."""
    return PostgresDirectStarts(database) if database.dialect == "postgresql" else None
