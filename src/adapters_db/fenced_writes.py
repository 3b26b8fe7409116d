"""PostgreSQL: the engine's writes of a batch of runs in one statement, outside a transaction block.

Through a transaction, a write of a few rows is five round trips (BEGIN, the locking SELECT, the steps,
the events, COMMIT), and each costs far more than its rows. Here one statement does it all, atomically
as any single statement is: its first CTE locks the runs that are still as their changes expect
(`HeldChange.still_applies_to`), and the others write the runs, steps and events of those runs only.
The arrays of values are bound once, the statement prepared once per connection.

JSON values are bound as the text the SQL types would bind (`json_dumps`), so that rows read back
the same whichever way they were written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from adapters_db.engine import Database
from adapters_db.mappers import run_progress_row, step_row
from adapters_db.types import as_utc, json_dumps, storable_text
from wfcore.domain.errors import ServiceUnavailable, TransientConflict
from wfcore.domain.ids import RunId
from wfcore.ports.persistence import HeldChange

_STATEMENT = """
WITH fence AS (
    SELECT runs.id FROM runs
    JOIN unnest($1::text[], $2::int[], $3::text[]) AS held (id, token, status) ON runs.id = held.id
    -- The status compared so that no index can serve it: the primary key must find the rows, not an index on
    -- the status, which would read every run in that status for each one held.
    WHERE runs.lease_token = held.token AND runs.lease_owner IS NOT NULL
        AND runs.status IS NOT DISTINCT FROM held.status AND runs.cancel_requested_at IS NULL
    ORDER BY runs.id
    FOR UPDATE OF runs
), run_updates AS (
    UPDATE runs SET
        status = changed.status, output = changed.output::jsonb, error = changed.error::jsonb,
        started_at = changed.started_at, finished_at = changed.finished_at,
        cancel_requested_at = changed.cancel_requested_at, cancelled_at = changed.cancelled_at,
        cancelled_by = changed.cancelled_by,
        lease_owner = CASE WHEN changed.releases THEN NULL ELSE runs.lease_owner END,
        lease_expires_at = CASE WHEN changed.releases THEN NULL ELSE runs.lease_expires_at END
    FROM unnest(
        $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[],
        $10::timestamptz[], $11::timestamptz[], $12::text[], $13::bool[]
    ) AS changed (
        id, status, output, error, started_at, finished_at, cancel_requested_at, cancelled_at, cancelled_by, releases
    )
    WHERE runs.id = changed.id AND runs.id IN (SELECT id FROM fence)
), step_updates AS (
    UPDATE step_executions SET
        agent_id = changed.agent_id, status = changed.status, input = changed.input::jsonb,
        output = changed.output::jsonb, error = changed.error::jsonb, attempts = changed.attempts::jsonb,
        started_at = changed.started_at, finished_at = changed.finished_at
    FROM unnest(
        $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[],
        $22::timestamptz[], $23::timestamptz[]
    ) AS changed (run_id, step_id, agent_id, status, input, output, error, attempts, started_at, finished_at)
    WHERE step_executions.run_id = changed.run_id AND step_executions.step_id = changed.step_id
        AND changed.run_id IN (SELECT id FROM fence)
), event_inserts AS (
    INSERT INTO run_events (run_id, type, at, step_id, data)
    SELECT added.run_id, added.type, added.at, added.step_id, added.data::jsonb
    FROM unnest($24::text[], $25::text[], $26::timestamptz[], $27::text[], $28::text[])
        WITH ORDINALITY AS added (run_id, type, at, step_id, data, position)
    WHERE added.run_id IN (SELECT id FROM fence)
    ORDER BY added.position
)
SELECT id FROM fence
"""

_RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
_CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)

Column = Callable[[Any], Any]


def _text(value: str | None) -> str | None:
    return None if value is None else storable_text(value)


def _time(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


# Each row's columns in the statement's order, as (key of the mapper's row, how it is bound).
_RUN_COLUMNS: tuple[tuple[str, Column], ...] = (
    ("status", _text),
    ("output", json_dumps),
    ("error", json_dumps),
    ("started_at", _time),
    ("finished_at", _time),
    ("cancel_requested_at", _time),
    ("cancelled_at", _time),
    ("cancelled_by", _text),
)
_STEP_COLUMNS: tuple[tuple[str, Column], ...] = (
    ("agent_id", _text),
    ("status", _text),
    ("input", json_dumps),
    ("output", json_dumps),
    ("error", json_dumps),
    ("attempts", json_dumps),
    ("started_at", _time),
    ("finished_at", _time),
)


class PostgresFencedWrites:
    """`FencedWrites` on a PostgreSQL `Database`: one statement per call, on a pooled connection."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def save_if_unchanged(self, changes: Sequence[HeldChange]) -> set[RunId]:
        if not changes:
            return set()
        arguments = _arguments(changes)  # before connecting: a value that cannot be stored fails here
        async with self._database.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            try:
                rows = await driver.fetch(_STATEMENT, *arguments)
            except _RETRYABLE as error:
                raise TransientConflict("the writes collided with a concurrent change and were not made") from error
            except _CONNECTION_LOST as error:
                await connection.invalidate()  # not back into the pool
                raise ServiceUnavailable("the connection to the database was lost") from error
        return {RunId(row["id"]) for row in rows}


def _arguments(changes: Sequence[HeldChange]) -> list[list[Any]]:
    held = [change.expected for change in changes]
    changed_runs = [change for change in changes if change.run != change.expected]
    steps = [step for change in changes for step in change.steps]
    events = [event for change in changes for event in change.events]
    run_rows = [run_progress_row(change.run) for change in changed_runs]
    step_rows = [step_row(step) for step in steps]
    return [
        [run.id for run in held],
        [run.lease.token if run.lease is not None else None for run in held],
        [run.status.value for run in held],
        [change.run.id for change in changed_runs],
        *_columns(run_rows, _RUN_COLUMNS),
        [change.run.lease is not None and change.run.lease.owner is None for change in changed_runs],
        [step.run_id for step in steps],
        [_text(step.step_id) for step in steps],
        *_columns(step_rows, _STEP_COLUMNS),
        [event.run_id for event in events],
        [event.type.value for event in events],
        [as_utc(event.at) for event in events],
        [_text(event.step_id) for event in events],
        [json_dumps(event.data) for event in events],
    ]


def _columns(rows: Sequence[dict[str, Any]], columns: tuple[tuple[str, Column], ...]) -> list[list[Any]]:
    return [[bind(row[key]) for row in rows] for key, bind in columns]


def fenced_writes_for(database: Database) -> PostgresFencedWrites | None:
    """The engine's one-statement writes on PostgreSQL; None on SQLite, whose statements cost no round trip."""
    return PostgresFencedWrites(database) if database.dialect == "postgresql" else None
