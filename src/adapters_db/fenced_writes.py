"""PostgreSQL: the engine's writes of a batch of runs in one statement, outside a transaction block.

Through a transaction, a write of a few rows is five round trips (BEGIN, the locking SELECT, the steps,
the events, COMMIT), and each costs far more than its rows. Here one statement does it all, atomically
as any single statement is: its first CTE locks the runs that are still as their changes expect
(`HeldChange.still_applies_to`), and the others write the runs, steps and events of those runs only.

The rows travel as one JSON document, a single parameter: encoding it is one `json_dumps` (which also
refuses what PostgreSQL cannot store), where arrays of columns cost twice the CPU on both sides. JSON
nulls are written as the JSON `null` the SQL types write, so that rows read back the same whichever way
they were written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters_db import direct, tables
from adapters_db.engine import Database
from adapters_db.mappers import event_row, run_progress_row, step_row
from adapters_db.transaction import unstorable
from adapters_db.types import UnstorableValue, UtcDateTime, json_dumps
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run
from wfcore.ports.persistence import HeldChange

_STATEMENT = """
WITH fence AS (
    SELECT runs.id FROM runs
    JOIN jsonb_to_recordset($1::jsonb -> 'held') AS held (id text, token int, status text) ON runs.id = held.id
    -- The rows are found by their ids as an array, which the primary key serves as soon as the table is not tiny:
    -- joined on the document's rows alone (which the planner takes for a hundred), they would be read by a scan
    -- of the whole table until it holds tens of thousands of runs. The status is compared so that no index on
    -- it can serve instead, which would read every run in that status for each one held.
    WHERE runs.id = ANY (ARRAY(SELECT held_run ->> 'id' FROM jsonb_array_elements($1::jsonb -> 'held') AS held_run))
        AND runs.lease_token = held.token AND runs.lease_owner IS NOT NULL
        AND runs.status IS NOT DISTINCT FROM held.status AND runs.cancel_requested_at IS NULL
    ORDER BY runs.id
    FOR UPDATE OF runs
), run_updates AS (
    UPDATE runs SET
        status = changed.status, output = COALESCE(changed.output, 'null'), error = COALESCE(changed.error, 'null'),
        started_at = changed.started_at, finished_at = changed.finished_at,
        cancel_requested_at = changed.cancel_requested_at, cancelled_at = changed.cancelled_at,
        cancelled_by = changed.cancelled_by,
        lease_owner = CASE WHEN changed.releases THEN NULL ELSE runs.lease_owner END,
        lease_expires_at = CASE WHEN changed.releases THEN NULL ELSE runs.lease_expires_at END
    FROM jsonb_to_recordset($1::jsonb -> 'runs') AS changed (
        id text, status text, output jsonb, error jsonb, started_at timestamptz, finished_at timestamptz,
        cancel_requested_at timestamptz, cancelled_at timestamptz, cancelled_by text, releases bool
    )
    WHERE runs.id = changed.id AND runs.id IN (SELECT id FROM fence)
), step_updates AS (
    UPDATE step_executions SET
        agent_id = changed.agent_id, status = changed.status, input = COALESCE(changed.input, 'null'),
        output = COALESCE(changed.output, 'null'), error = COALESCE(changed.error, 'null'),
        attempts = changed.attempts, started_at = changed.started_at, finished_at = changed.finished_at
    FROM jsonb_to_recordset($1::jsonb -> 'steps') AS changed (
        run_id text, step_id text, agent_id text, status text, input jsonb, output jsonb, error jsonb,
        attempts jsonb, started_at timestamptz, finished_at timestamptz
    )
    WHERE step_executions.run_id = changed.run_id AND step_executions.step_id = changed.step_id
        AND changed.run_id IN (SELECT id FROM fence)
), event_inserts AS (
    INSERT INTO run_events (run_id, type, at, step_id, data)
    SELECT added.run_id, added.type, added.at, added.step_id, added.data
    FROM ROWS FROM (
        jsonb_to_recordset($1::jsonb -> 'events') AS (run_id text, type text, at timestamptz, step_id text, data jsonb)
    ) WITH ORDINALITY AS added (run_id, type, at, step_id, data, position)
    WHERE added.run_id IN (SELECT id FROM fence)
    ORDER BY added.position
)
SELECT id FROM fence
"""

_TABLES_WRITTEN = (tables.runs, tables.step_executions, tables.run_events)
_TIMES = {column for table in _TABLES_WRITTEN for column in direct.columns_of(table, UtcDateTime)}


class PostgresFencedWrites:
    """`FencedWrites` on a PostgreSQL `Database`: one statement per call, on a pooled connection."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def save_if_unchanged(self, changes: Sequence[HeldChange]) -> set[RunId]:
        if not changes:
            return set()
        try:
            document = _document(changes)
        except UnstorableValue as error:
            raise unstorable(error) from None
        rows = await direct.fetch(self._database, _STATEMENT, document)
        return {RunId(row["id"]) for row in rows}


def _document(changes: Sequence[HeldChange]) -> str:
    held = [
        {"id": change.expected.id, "token": _token(change.expected), "status": change.expected.status.value}
        for change in changes
    ]
    runs = [
        {
            "id": change.run.id,
            **_times(_progress_without_lease(change.run)),
            "releases": change.run.lease is not None and change.run.lease.owner is None,
        }
        for change in changes
        if change.run != change.expected
    ]
    steps = [
        {"run_id": step.run_id, "step_id": step.step_id, **_times(step_row(step))}
        for change in changes
        for step in change.steps
    ]
    events = [_times(event_row(event)) for change in changes for event in change.events]
    return json_dumps({"held": held, "runs": runs, "steps": steps, "events": events})


def _progress_without_lease(run: Run) -> dict[str, Any]:
    """The run's progress columns; the lease's are kept as stored, or cleared by `releases`."""
    row = run_progress_row(run)
    del row["lease_owner"], row["lease_expires_at"]
    return row


def _token(run: Run) -> int:
    assert run.lease is not None
    return run.lease.token


def _times(row: dict[str, Any]) -> dict[str, Any]:
    return direct.times_as_text(row, _TIMES)


def fenced_writes_for(database: Database) -> PostgresFencedWrites | None:
    """The engine's one-statement writes on PostgreSQL; None on SQLite, whose statements cost no round trip."""
    return PostgresFencedWrites(database) if database.dialect == "postgresql" else None
