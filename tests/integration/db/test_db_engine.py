"""Connections: SQLite's settings and single serialised connection, PostgreSQL's pool, failures."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters_db.engine import Database, create_database
from adapters_db.secrets import FernetSecretBox
from adapters_db.unit_of_work import SqlUnitOfWorkFactory
from contract.backends import SqlBackend
from contract.builders import agent, at, run, stored_workflow, workflow
from wfcore.domain.errors import ServiceUnavailable, TransientConflict
from wfcore.domain.ids import RunId


async def _pragma(database: Database, name: str) -> object:
    async with database.connect() as connection:
        return (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_backend: SqlBackend) -> None:
    database = sqlite_backend.database
    assert database.dialect == "sqlite"
    assert await _pragma(database, "journal_mode") == "wal"
    assert await _pragma(database, "foreign_keys") == 1
    assert await _pragma(database, "synchronous") == 1  # NORMAL
    # SQLite itself never waits for a lock: the wait happens asleep on the event loop.
    assert await _pragma(database, "busy_timeout") == 0


@contextlib.contextmanager
def _write_lock_held_elsewhere(url: str) -> Iterator[sqlite3.Connection]:
    """Another connection, as another process would, holding the write lock until it commits."""
    other = sqlite3.connect(sa.make_url(url).database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.close()


async def test_sqlite_waits_for_another_writer_without_blocking_the_event_loop(migrated_sqlite_url: str) -> None:
    database = create_database(migrated_sqlite_url)
    uow = SqlUnitOfWorkFactory(database, FernetSecretBox([FernetSecretBox.new_key()]))
    stored = agent()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    async def add() -> None:
        async with uow() as tx:
            await tx.agents.add(stored)
            await tx.commit()

    await database.ping()
    ticker = asyncio.create_task(tick())
    try:
        with _write_lock_held_elsewhere(migrated_sqlite_url) as other:
            adding = asyncio.create_task(add())
            await asyncio.sleep(0.15)
            assert not adding.done()
            other.execute("COMMIT")
            await adding
        assert ticks >= 10
        async with uow() as tx:
            assert await tx.agents.get(stored.id) == stored
    finally:
        ticker.cancel()
        await database.dispose()


async def test_sqlite_gives_up_after_the_busy_timeout(migrated_sqlite_url: str) -> None:
    database = create_database(migrated_sqlite_url, sqlite_busy_timeout_s=0.1)
    uow = SqlUnitOfWorkFactory(database, FernetSecretBox([FernetSecretBox.new_key()]))
    await database.ping()  # connected (and in WAL mode) before the other writer comes
    try:
        with _write_lock_held_elsewhere(migrated_sqlite_url), pytest.raises(ServiceUnavailable, match="locked"):
            async with uow() as tx:
                await tx.agents.add(agent())
        async with uow() as tx:
            await tx.agents.add(agent())
            await tx.commit()
    finally:
        await database.dispose()


async def _overlapping(backend: SqlBackend) -> bool:
    """Whether two units of work opened at once were ever open at the same time."""
    open_now = 0
    most = 0

    async def work() -> None:
        nonlocal open_now, most
        async with backend.uow() as tx:
            await tx.runs.claimable(now=at(0), limit=1)
            open_now += 1
            most = max(most, open_now)
            await asyncio.sleep(0.02)
            open_now -= 1

    await asyncio.gather(work(), work(), work())
    return most > 1


async def test_sqlite_units_of_work_take_turns(sqlite_backend: SqlBackend) -> None:
    assert not await _overlapping(sqlite_backend)


@pytest.mark.postgres
async def test_postgres_units_of_work_run_side_by_side(postgres_backend: SqlBackend) -> None:
    assert postgres_backend.database.dialect == "postgresql"
    assert await _overlapping(postgres_backend)


async def test_references_are_enforced(sql: SqlBackend) -> None:
    orphan, steps = run(workflow()[0])
    async with sql.uow() as tx:
        with pytest.raises(sa.exc.IntegrityError):
            await tx.runs.add(orphan, steps)


async def test_ping_answers(sql: SqlBackend) -> None:
    await sql.database.ping()


@pytest.mark.parametrize(
    "url",
    ["postgresql+asyncpg://wf@127.0.0.1:1/wf", "sqlite+aiosqlite:///{tmp}/no/such/dir/wf.db"],
    ids=["postgres-refused", "sqlite-unopenable"],
)
async def test_an_unreachable_database_is_service_unavailable(url: str, tmp_path: Path) -> None:
    database = create_database(url.format(tmp=tmp_path))
    uow = SqlUnitOfWorkFactory(database, FernetSecretBox([FernetSecretBox.new_key()]))
    try:
        with pytest.raises(ServiceUnavailable):
            await database.ping()
        with pytest.raises(ServiceUnavailable):
            async with uow():
                pass
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_a_deadlock_is_a_transient_conflict_for_one_command_and_the_other_goes_on(
    postgres_backend: SqlBackend,
) -> None:
    uow = postgres_backend.uow
    async with uow() as tx:
        flow = await stored_workflow(tx)
        first, first_steps = run(flow)
        second, second_steps = run(flow)
        await tx.runs.add(first, first_steps)
        await tx.runs.add(second, second_steps)
        await tx.commit()
    both_locked_one = asyncio.Barrier(2)

    async def lock(one: RunId, then: RunId) -> str:
        async with uow() as tx:
            await tx.runs.get(one, for_update=True)
            await both_locked_one.wait()
            try:
                await tx.runs.get(then, for_update=True)
            except TransientConflict:
                return "conflict"
            await tx.commit()
            return "done"

    outcomes = await asyncio.gather(lock(first.id, second.id), lock(second.id, first.id))
    assert sorted(outcomes) == ["conflict", "done"]
