"""PostgreSQL: a statement sent straight to asyncpg whose backend is terminated while it runs."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from adapters_db import direct
from adapters_db.engine import create_database
from contract.backends import SqlBackend
from wfcore.domain.errors import ServiceUnavailable

_SLEEPING = "SELECT pg_sleep(30)"
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
async def test_statements_beyond_the_pool_wait_for_a_pooled_connection_instead_of_opening_more(
    migrated_postgres_url: str,
) -> None:
    database = create_database(migrated_postgres_url, postgres_pool_size=2)
    opened: list[object] = []
    sa.event.listen(database.engine.sync_engine, "connect", lambda connection, _record: opened.append(connection))
    try:
        answers = await asyncio.gather(*(direct.fetch(database, "SELECT pg_sleep(0.05), $1::int", n) for n in range(6)))
    finally:
        await database.dispose()

    assert sorted(row[0][1] for row in answers) == list(range(6))
    assert len(opened) == 2
