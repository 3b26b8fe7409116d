"""PostgreSQL: one statement sent straight to asyncpg, on a connection kept for such uses, outside a transaction block.

For the engine's hot paths, where SQLAlchemy's execution and a transaction's round trips cost more than
the statement: each statement commits on its own, atomically. A collision with a concurrent change
becomes a `TransientConflict`, a lost connection (closed, not kept for the next statement) is
`ServiceUnavailable`; other errors from the database are raised as asyncpg raises them, as they are by
a unit of work.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa

from adapters_db.engine import Database
from adapters_db.transaction import RETRYABLE_SQLSTATES
from adapters_db.types import as_utc
from wfcore.domain.errors import ServiceUnavailable, TransientConflict

# What the statements' column types are named by; the driver is never connected.
_POSTGRESQL = sa.create_mock_engine("postgresql+asyncpg://", executor=None).dialect
# Connection exceptions, and the server shutting down or terminating this backend.
_CONNECTION_GONE = ("08", "57P")


async def fetch(database: Database, statement: str, *arguments: Any) -> list[asyncpg.Record]:
    assert database.statements is not None, "one-statement uses are for PostgreSQL"
    async with database.statements.connection() as connection:
        try:
            rows: list[asyncpg.Record] = await connection.fetch(statement, *arguments)
        except asyncpg.PostgresError as error:
            if error.sqlstate in RETRYABLE_SQLSTATES:
                raise TransientConflict("the statement collided with a concurrent change and made none") from error
            if not connection.is_closed() and not error.sqlstate.startswith(_CONNECTION_GONE):
                raise
            connection.terminate()  # not kept for the next statement
            raise ServiceUnavailable("the connection to the database was lost") from error
        # InternalClientError: the backend went away between preparing the statement and executing it, and
        # the protocol was still reading its error.
        except (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as error:
            connection.terminate()
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


def times_as_text(row: dict[str, Any], time_columns: Collection[str]) -> dict[str, Any]:
    """The row, changed in place, with its times as ISO 8601 text in UTC, which PostgreSQL reads back exactly."""
    for column in time_columns:
        value = row.get(column)
        if value is not None:
            row[column] = as_utc(value).isoformat()
    return row


def insert_from_json(table: sa.Table, columns: Sequence[str], rows: str, *, where: str) -> str:
    """An INSERT of `columns` from `rows`, SQL giving a JSON array of objects, of the rows for which `where` holds.

    The rows are inserted in the array's order. A JSON column's null is written as the JSON `null`
    SQLAlchemy's JSON types write, so that a row reads back the same whichever way it was written.
    """
    names = ", ".join(f'"{name}"' for name in columns)
    record = ", ".join(f'"{name}" {table.c[name].type.compile(dialect=_POSTGRESQL)}' for name in columns)
    values = ", ".join(
        f"COALESCE(new.\"{name}\", 'null')" if isinstance(table.c[name].type, sa.JSON) else f'new."{name}"'
        for name in columns
    )
    return (
        f'INSERT INTO "{table.name}" ({names}) SELECT {values}'
        f" FROM ROWS FROM (jsonb_to_recordset({rows}) AS ({record})) WITH ORDINALITY AS new ({names}, row_order)"
        f" WHERE {where} ORDER BY new.row_order"
    )
