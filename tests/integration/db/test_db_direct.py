"""PostgreSQL: statements sent straight to asyncpg, on the connections kept for them."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
import sqlalchemy as sa

from adapters_db import direct, statement_pool
from adapters_db.engine import Database, create_database
from contract.backends import SqlBackend
from wfcore.domain.errors import ServiceUnavailable

_SLEEPING = "SELECT pg_sleep(30)"
_RUNNING_THE_QUERY = "FROM pg_stat_activity WHERE datname = current_database() AND query = :query AND state = 'active'"
_RUNNING = sa.text(f"SELECT count(*) {_RUNNING_THE_QUERY}")
_TERMINATE_RUNNING = sa.text(f"SELECT count(pg_terminate_backend(pid)) {_RUNNING_THE_QUERY}")
_BACKENDS_WITH_PID = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")


@pytest.mark.postgres
async def test_a_statement_whose_backend_is_terminated_fails_as_unavailable_and_the_next_reconnects(
    postgres_backend: SqlBackend,
) -> None:
    database = postgres_backend.database
    sleeping = asyncio.create_task(direct.fetch(database, _SLEEPING))
    await _wait_until_running(database, _SLEEPING)
    async with database.connect() as connection:
        assert await connection.scalar(_TERMINATE_RUNNING, {"query": _SLEEPING}) == 1

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
async def test_a_cancelled_statement_is_stopped_on_the_server_before_the_cancellation_completes(
    postgres_backend: SqlBackend,
) -> None:
    database = postgres_backend.database
    [[before]] = await direct.fetch(database, "SELECT pg_backend_pid()")
    sleeping = asyncio.create_task(direct.fetch(database, _SLEEPING))
    await _wait_until_running(database, _SLEEPING)
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping

    assert await _running(database, _SLEEPING) == 0  # a cancelled write could otherwise still commit
    [[after]] = await direct.fetch(database, "SELECT pg_backend_pid()")
    assert after == before  # the connection is kept: the server answered the cancelled statement


async def _running(database: Database, statement: str) -> int:
    async with database.connect() as connection:
        count = await connection.scalar(_RUNNING, {"query": statement})
    assert isinstance(count, int)
    return count


async def _wait_until_running(database: Database, statement: str) -> None:
    for _ in range(3000):
        if await _running(database, statement):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the statement never started")


@pytest.mark.postgres
async def test_json_inside_a_row_reads_as_on_sqlalchemys_connections(postgres_backend: SqlBackend) -> None:
    [[record]] = await direct.fetch(postgres_backend.database, """SELECT ROW('{"a": 1}'::jsonb, '[2]'::json)""")
    assert tuple(record) == ({"a": 1}, [2])


@pytest.mark.postgres
async def test_a_statement_waiting_longer_than_the_pool_allows_fails_as_unavailable(
    postgres_backend: SqlBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = postgres_backend.database
    assert database.statements is not None
    monkeypatch.setattr(statement_pool, "WAIT_SECONDS", 0.2)
    busy = [asyncio.create_task(direct.fetch(database, "SELECT pg_sleep(2)")) for _ in range(database.statements.size)]
    await asyncio.sleep(0.05)
    with pytest.raises(ServiceUnavailable):
        await direct.fetch(database, "SELECT 1")
    await asyncio.gather(*busy)
    assert [tuple(row) for row in await direct.fetch(database, "SELECT 1")] == [(1,)]  # no turn was lost


@pytest.mark.postgres
async def test_statements_after_the_database_is_disposed_fail_as_unavailable(migrated_postgres_url: str) -> None:
    database = create_database(migrated_postgres_url)
    await direct.fetch(database, "SELECT 1")
    await database.dispose()
    with pytest.raises(ServiceUnavailable):
        await direct.fetch(database, "SELECT 1")


@pytest.mark.postgres
async def test_a_connection_older_than_the_recycling_age_is_replaced_when_taken(migrated_postgres_url: str) -> None:
    database = create_database(migrated_postgres_url)
    pool = statement_pool.StatementPool(database.engine, size=1, recycle_seconds=0.0, json_deserializer=json.loads)
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
