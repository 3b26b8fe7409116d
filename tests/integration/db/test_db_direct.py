"""PostgreSQL: a statement sent straight to asyncpg whose backend is terminated while it runs."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from adapters_db import direct
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
