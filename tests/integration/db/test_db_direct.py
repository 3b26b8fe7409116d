"""PostgreSQL: statements sent straight to asyncpg, on the connections kept for them."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
import sqlalchemy as sa

from adapters_db import direct
from adapters_db.engine import create_database
from adapters_db.statement_pool import StatementPool
from contract.backends import SqlBackend
from wfcore.domain.errors import ServiceUnavailable

_SLEEPING = "SELECT pg_sleep(30)"
_BACKENDS_WITH_PID = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
_TERMINATE_THE_SLEEPER = sa.text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND query = :query AND state = 'active'"
).bindparams(query=_SLEEPING)


@pytest.mark.postgres
async def test_a_statement_whose_backend_is_terminated_fails_as_unavailable_and_the_next_reconnects(
    postgres_backend: SqlBackend,
) -> None:
    database = postgres_backend.database
    sleeping = asyncio.create_task(direct.fetch(database, _SLEEPING))
    async with database.engine.connect() as connection:
        admin = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for _ in range(3000):
            if (await admin.execute(_TERMINATE_THE_SLEEPER)).scalar_one():
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the statement never started")

    with pytest.raises(ServiceUnavailable):
        await sleeping
    assert [tuple(row) for row in await direct.fetch(database, "SELECT 1")] == [(1,)]


@pytest.mark.postgres
async def test_statements_beyond_their_share_of_the_pool_wait_for_a_connection_instead_of_opening_more(
    migrated_postgres_url: str,
) -> None:
    database = create_database(migrated_postgres_url, postgres_pool_size=4)
    try:
        answers = await asyncio.gather(
            *(direct.fetch(database, "SELECT pg_sleep(0.05), $1::int, pg_backend_pid()", n) for n in range(6))
        )
    finally:
        await database.dispose()

    assert sorted(row[0][1] for row in answers) == list(range(6))
    assert len({row[0][2] for row in answers}) == 2  # half of the pool's 4 connections, each used three times


@pytest.mark.postgres
async def test_a_connection_is_kept_for_the_next_statement_and_closed_with_the_database(
    migrated_postgres_url: str,
) -> None:
    database = create_database(migrated_postgres_url)
    try:
        [[first]] = await direct.fetch(database, "SELECT pg_backend_pid()")
        [[second]] = await direct.fetch(database, "SELECT pg_backend_pid()")
        [[as_json]] = await direct.fetch(database, """SELECT '{"a": [1, null]}'::jsonb""")
    finally:
        await database.dispose()

    assert first == second
    assert as_json == {"a": [1, None]}  # JSON read as SQLAlchemy's connections read it
    observer = create_database(migrated_postgres_url)
    try:
        async with observer.connect() as connection:
            alive = await connection.scalar(_BACKENDS_WITH_PID, {"pid": first})
    finally:
        await observer.dispose()
    assert alive == 0


@pytest.mark.postgres
async def test_a_cancelled_statement_does_not_leave_its_connection_to_the_next(postgres_backend: SqlBackend) -> None:
    database = postgres_backend.database
    [[before]] = await direct.fetch(database, "SELECT pg_backend_pid()")
    sleeping = asyncio.create_task(direct.fetch(database, _SLEEPING))
    await asyncio.sleep(0.2)
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping

    [[after]] = await direct.fetch(database, "SELECT pg_backend_pid()")
    assert after != before


@pytest.mark.postgres
async def test_a_connection_older_than_the_recycling_age_is_replaced_when_taken(migrated_postgres_url: str) -> None:
    database = create_database(migrated_postgres_url)
    pool = StatementPool(database.engine, size=1, recycle_seconds=0.0, json_deserializer=json.loads)
    try:
        pids = []
        for _ in range(2):
            async with pool.connection() as connection:
                pids.append(await connection.fetchval("SELECT pg_backend_pid()"))
    finally:
        await pool.close()
        await database.dispose()

    assert pids[0] != pids[1]


async def test_a_statement_on_a_server_that_cannot_be_reached_fails_as_unavailable() -> None:
    database = create_database(f"postgresql+asyncpg://wf@127.0.0.1:{_closed_port()}/wf")
    try:
        with pytest.raises(ServiceUnavailable):
            await direct.fetch(database, "SELECT 1")
    finally:
        await database.dispose()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
