"""PostgreSQL's one-statement writes on a connection the server closed: one write fails, the next reconnects."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters_db.engine import Database
from adapters_db.fenced_writes import PostgresFencedWrites
from contract.backends import SqlBackend
from contract.builders import at, committed_runs
from wfcore.domain.errors import ServiceUnavailable
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
    admin = create_async_engine(database.engine.url, poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    finally:
        await admin.dispose()


@pytest.mark.postgres
async def test_a_write_on_a_connection_the_server_closed_fails_once_and_the_next_reconnects(
    postgres_backend: SqlBackend,
) -> None:
    run = await _held_run(postgres_backend)
    writes = PostgresFencedWrites(postgres_backend.database)
    assert await writes.save_if_unchanged([_noted(run, 1)]) == {run.id}  # its connection is back in the pool

    await _close_every_other_connection(postgres_backend.database)

    with pytest.raises(ServiceUnavailable):
        await writes.save_if_unchanged([_noted(run, 2)])
    assert await writes.save_if_unchanged([_noted(run, 3)]) == {run.id}
    async with postgres_backend.uow() as tx:
        assert [event.at for event in await tx.runs.events(run.id)] == [at(1), at(3)]
