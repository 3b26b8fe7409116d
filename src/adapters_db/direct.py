"""PostgreSQL: one statement sent straight to asyncpg on a pooled connection, outside a transaction block.

For the engine's hot paths, where SQLAlchemy's execution and a transaction's round trips cost more than
the statement: each statement commits on its own, atomically. A collision with a concurrent change
becomes a `TransientConflict`, a lost connection (invalidated, not put back into the pool) is
`ServiceUnavailable`; other errors from the database are raised as asyncpg raises them, as they are by
a unit of work.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa

from adapters_db.engine import Database
from adapters_db.transaction import RETRYABLE_SQLSTATES
from adapters_db.types import as_utc
from wfcore.domain.errors import ServiceUnavailable, TransientConflict

# Connection exceptions, and the server shutting down or terminating this backend.
_CONNECTION_GONE = ("08", "57P")


async def fetch(database: Database, statement: str, *arguments: Any) -> list[asyncpg.Record]:
    async with database.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            rows: list[asyncpg.Record] = await driver.fetch(statement, *arguments)
        except asyncpg.PostgresError as error:
            if error.sqlstate in RETRYABLE_SQLSTATES:
                raise TransientConflict("the statement collided with a concurrent change and made none") from error
            if not driver.is_closed() and not error.sqlstate.startswith(_CONNECTION_GONE):
                raise
            await connection.invalidate()
            raise ServiceUnavailable("the connection to the database was lost") from error
        except (asyncpg.InterfaceError, OSError) as error:
            await connection.invalidate()  # not back into the pool
            raise ServiceUnavailable("the connection to the database was lost") from error
    return rows


def with_times(row: Mapping[str, Any], time_columns: Collection[str]) -> dict[str, Any]:
    """A row aggregated into JSON, with its times (ISO 8601 text there) as the UTC datetimes a column returns.

    Its JSON values need nothing: SQLAlchemy's connections decode JSON with the engine's deserializer.
    """
    values = dict(row)
    for column in time_columns:
        if values[column] is not None:
            values[column] = as_utc(datetime.fromisoformat(values[column]))
    return values


def columns_of(table: sa.Table, kind: type[sa.types.TypeEngine[Any]]) -> tuple[str, ...]:
    """The names of the table's columns of that type (its base type, whatever the dialect's variant)."""
    return tuple(column.name for column in table.columns if isinstance(column.type, kind))
