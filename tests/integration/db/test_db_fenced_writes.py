"""PostgreSQL's one-statement writes after the server closed the connection they were kept on: a new one is used."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters_db.engine import Database
from adapters_db.fenced_writes import PostgresFencedWrites
from contract.backends import SqlBackend
from contract.builders import at, committed_runs
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.runs import Run
from wfcore.ports.persistence import HeldChange


async def _held_run(backend: SqlBackend) -> Run:
    [stored] = await committed_runs(backend.uow, 1)
    async with backend.uow() as tx:
        claimed = await tx.runs.claim(stored.id, owner="worker", now=at(0), expires_at=at(30))
        await tx.commit()
    assert claimed is not None
    return claimed


def _noted(run: Run, seconds: float) -> HeldChange:
    event = RunEvent(run_id=run.id, type=EventType.RETRY_SCHEDULED, at=at(seconds), step_id="first")
    return HeldChange(expected=run, run=run, steps=[], events=[event])


async def _close_every_other_connection(database: Database) -> None:
    """Terminate every other backend of the database and wait until they are gone."""
    admin = create_async_engine(database.engine.url, poolclass=NullPool)
    try:
        # Autocommit: what pg_stat_activity shows is kept for the rest of a transaction.
        async with admin.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            terminated = await connection.exec_driver_sql(
                "WITH others AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid())"
                " SELECT array_agg(pid) FROM others WHERE pg_terminate_backend(pid)"
            )
            pids = terminated.scalar_one()
            assert pids, "the database has no other connection"
            for _ in range(500):
                left = await connection.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", (pids,)
                )
                if left.scalar_one() == 0:
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("the terminated backends did not go away")
    finally:
        await admin.dispose()


@pytest.mark.postgres
async def test_a_write_after_the_server_closed_the_idle_connection_opens_another_instead_of_failing(
    postgres_backend: SqlBackend,
) -> None:
    run = await _held_run(postgres_backend)
    writes = PostgresFencedWrites(postgres_backend.database)
    assert await writes.save_if_unchanged([_noted(run, 1)]) == {run.id}  # its connection is kept for the next

    await _close_every_other_connection(postgres_backend.database)

    assert await writes.save_if_unchanged([_noted(run, 2)]) == {run.id}
    await postgres_backend.database.engine.dispose()  # transactions' connections were closed too, unnoticed
    async with postgres_backend.uow() as tx:
        assert [event.at for event in await tx.runs.events(run.id)] == [at(1), at(2)]
