"""DirectStarts: a new run stored, committed at once, only while its workflow still allows it.

The in-memory and SQLite implementations go through a unit of work; PostgreSQL's is one statement.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from adapters_db import tables
from adapters_db.direct_starts import PostgresDirectStarts
from adapters_db.engine import Database
from adapters_memory.direct_starts import TransactionalDirectStarts
from contract.backends import SQL_BACKENDS, SqlBackend, WithPort, with_port
from contract.builders import at, audit_entry, dispatch, run, stored_workflow, version_of
from wfcore.domain.audit import EntityType
from wfcore.domain.errors import InvalidInput
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.workflows import Workflow, WorkflowStatus
from wfcore.ports.persistence import AuditQuery, DirectStarts, NewRun, RunQuery
from wfcore.use_cases.execution import store_new_run

Backend = WithPort[DirectStarts]


@pytest.fixture(params=["memory", *SQL_BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    return with_port(request, TransactionalDirectStarts, lambda found: PostgresDirectStarts(found.database))


async def a_workflow(backend: Backend, **changes: Any) -> Workflow:
    async with backend.uow() as tx:
        flow = await stored_workflow(tx)
        if changes:
            flow = attrs.evolve(flow, **changes)
            await tx.workflows.update(flow)
        await tx.commit()
    return flow


def new_run(flow: Workflow, **changes: Any) -> NewRun:
    started, steps = run(flow, **changes)
    return NewRun(
        run=started,
        steps=steps,
        events=[RunEvent(run_id=started.id, type=EventType.RUN_CREATED, at=at(0), data={"attempt": 1})],
        audit=audit_entry(started.id, entity_type=EntityType.RUN, action="execute"),
        dispatch=dispatch(started.id),
    )


async def what_is_stored(backend: Backend) -> dict[str, Any]:
    async with backend.uow() as tx:
        runs = (await tx.runs.list(RunQuery(limit=100))).items
        return {
            "runs": runs,
            "steps": {stored.id: await tx.runs.steps(stored.id) for stored in runs},
            "events": {stored.id: await tx.runs.events(stored.id) for stored in runs},
            "audit": (await tx.audit.list(AuditQuery(limit=100))).items,
            "outbox": await tx.outbox.pending(limit=100),
        }


async def test_a_start_stores_the_run_its_steps_event_audit_entry_and_dispatch(backend: Backend) -> None:
    flow = await a_workflow(backend)
    new = new_run(flow, input={"text": "hello", "none": None}, idempotency_key="key-1", request_id="req-9")

    assert await backend.port.start(new, latest_version=1) is True

    stored = await what_is_stored(backend)
    assert stored["runs"] == [new.run]
    assert stored["steps"] == {new.run.id: list(new.steps)}
    assert [attrs.evolve(event, seq=None) for event in stored["events"][new.run.id]] == list(new.events)
    assert stored["audit"] == [new.audit]
    assert stored["outbox"] == [new.dispatch]


async def test_a_run_whose_input_is_null_reads_back_with_a_null_input(backend: Backend) -> None:
    flow = await a_workflow(backend)
    new = new_run(flow, input=None)

    assert await backend.port.start(new, latest_version=None) is True

    assert (await what_is_stored(backend))["runs"] == [new.run]


@pytest.mark.parametrize(
    "workflow_changes",
    [{"status": WorkflowStatus.INACTIVE}, {"deleted_at": at(5)}],
    ids=["inactive", "deleted"],
)
async def test_nothing_is_stored_for_a_workflow_that_is_not_live_and_active(
    backend: Backend, workflow_changes: dict[str, Any]
) -> None:
    flow = await a_workflow(backend, **workflow_changes)

    assert await backend.port.start(new_run(flow), latest_version=None) is False

    assert await what_is_stored(backend) == {"runs": [], "steps": {}, "events": {}, "audit": [], "outbox": []}


async def test_nothing_is_stored_for_an_unknown_workflow(backend: Backend) -> None:
    flow = await a_workflow(backend)
    unknown = attrs.evolve(flow, id=flow.id + "-unknown")

    assert await backend.port.start(new_run(unknown), latest_version=None) is False

    assert (await what_is_stored(backend))["runs"] == []


async def test_nothing_is_stored_for_a_version_the_workflow_does_not_have(backend: Backend) -> None:
    flow = await a_workflow(backend)

    assert await backend.port.start(new_run(flow, workflow_version=2), latest_version=None) is False

    assert (await what_is_stored(backend))["runs"] == []


async def test_a_workflow_moved_to_a_newer_version_stores_nothing_for_the_latest_it_was_at(backend: Backend) -> None:
    flow = await a_workflow(backend)
    async with backend.uow() as tx:
        newer = attrs.evolve(flow, latest_version=2, updated_at=at(10))
        await tx.workflows.add_version(newer, version_of(newer, 2))
        await tx.commit()

    assert await backend.port.start(new_run(flow), latest_version=1) is False
    assert (await what_is_stored(backend))["runs"] == []

    older = new_run(flow)
    assert await backend.port.start(older, latest_version=None) is True, "version 1 asked for by number"
    assert (await what_is_stored(backend))["runs"] == [older.run]


async def test_a_used_idempotency_key_stores_nothing_and_another_key_does(backend: Backend) -> None:
    flow = await a_workflow(backend)
    first = new_run(flow, idempotency_key="key-1")
    assert await backend.port.start(first, latest_version=1) is True

    assert await backend.port.start(new_run(flow, idempotency_key="key-1"), latest_version=1) is False
    other = new_run(flow, idempotency_key="key-2", created=1)
    assert await backend.port.start(other, latest_version=1) is True

    stored = await what_is_stored(backend)
    assert {stored_run.id for stored_run in stored["runs"]} == {first.run.id, other.run.id}
    assert {pending.run_id for pending in stored["outbox"]} == {first.run.id, other.run.id}
    assert len(stored["audit"]) == 2


async def test_of_concurrent_starts_with_one_key_exactly_one_stores_its_run(backend: Backend) -> None:
    flow = await a_workflow(backend)
    attempts = [new_run(flow, idempotency_key="key-1") for _ in range(10)]

    results = await asyncio.gather(*(backend.port.start(new, latest_version=1) for new in attempts))

    assert sorted(results) == [False] * 9 + [True]
    winner = attempts[results.index(True)]
    stored = await what_is_stored(backend)
    assert stored["runs"] == [winner.run]
    assert stored["outbox"] == [winner.dispatch]


@pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)  # memory stores any value
async def test_an_input_the_database_cannot_store_is_refused_and_stores_nothing(backend: Backend) -> None:
    flow = await a_workflow(backend)

    with pytest.raises(InvalidInput):
        await backend.port.start(new_run(flow, input={"text": "nul \x00 inside"}), latest_version=1)

    assert (await what_is_stored(backend))["runs"] == []


@pytest.mark.postgres
@pytest.mark.parametrize("run_input", [None, {"a": None, "b": [1, None]}, "text", 12345678901234567890])
async def test_the_rows_stored_are_those_a_unit_of_work_stores(postgres_backend: SqlBackend, run_input: Any) -> None:
    async with postgres_backend.uow() as tx:
        flow = await stored_workflow(tx)
        through_a_unit_of_work = new_run(flow, input=run_input, idempotency_key="key-1")
        await store_new_run(tx, through_a_unit_of_work)
        await tx.commit()
    directly = new_run(flow, input=run_input, idempotency_key="key-2")

    assert await PostgresDirectStarts(postgres_backend.database).start(directly, latest_version=1) is True

    database = postgres_backend.database
    assert await raw_rows(database, directly) == await raw_rows(database, through_a_unit_of_work)


# The columns that tell two new runs apart, and the one naming the run, by table.
_IDENTIFYING = {
    tables.runs: (("id", "idempotency_key"), "id"),
    tables.step_executions: (("run_id",), "run_id"),
    tables.run_events: (("seq", "run_id"), "run_id"),
    tables.audit_log: (("seq", "id", "entity_id"), "entity_id"),
    tables.outbox: (("seq", "id", "run_id"), "run_id"),
}


async def raw_rows(database: Database, new: NewRun) -> dict[str, list[dict[str, Any]]]:
    """The rows of the run in every table, but the columns that identify it, and which JSON columns are SQL NULL."""
    found = {}
    async with database.connect() as connection:
        for table, (identifying, run_column) in _IDENTIFYING.items():
            json_columns = [column.name for column in table.c if isinstance(column.type, sa.JSON)]
            sql_nulls = "".join(f', "{name}" IS NULL AS "{name} is SQL NULL"' for name in json_columns)
            query = f'SELECT to_jsonb(t) AS row{sql_nulls} FROM "{table.name}" t WHERE "{run_column}" = :run ORDER BY 1'
            rows = (await connection.execute(sa.text(query), {"run": new.run.id})).mappings()
            found[table.name] = [_comparable(dict(row), identifying) for row in rows]
    return found


def _comparable(row: dict[str, Any], identifying: tuple[str, ...]) -> dict[str, Any]:
    values = {column: value for column, value in row.pop("row").items() if column not in identifying}
    return values | row
