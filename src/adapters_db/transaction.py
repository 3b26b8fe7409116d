"""The connection of one unit of work, speaking in domain errors rather than driver errors."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable

from adapters_db.types import UnstorableValue
from wfcore.domain.errors import (
    Conflict,
    ErrorDetail,
    InvalidInput,
    ServiceUnavailable,
    TransientConflict,
    WfError,
)

Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None

_SQLSTATE_UNIQUE_VIOLATION = "23505"
RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization failure, deadlock detected
_SQLITE_UNIQUE = (2067, 1555)  # SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


class Transaction:
    """Executes statements on the unit of work's connection and translates what can go wrong.

    Text a database cannot store becomes `InvalidInput`, a deadlock or serialization failure a
    `Conflict` (the caller may retry the whole command), a lost connection or a database locked by
    another process `ServiceUnavailable`.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def execute(self, statement: Executable, parameters: Parameters = None) -> CursorResult[Any]:
        with _domain_errors():
            return await self._connection.execute(statement, parameters)

    async def execute_unique(self, statement: Executable, conflict: Conflict) -> CursorResult[Any]:
        """Execute in a savepoint, raising `conflict` on a unique violation; the transaction stays usable.

        PostgreSQL aborts a whole transaction on an error while SQLite fails only the statement;
        the savepoint makes both behave like the latter.
        """
        with _domain_errors():  # beginning the savepoint may begin the transaction, which may fail
            try:
                async with self._connection.begin_nested():
                    return await self._connection.execute(statement)
            except exc.IntegrityError as error:
                if is_unique_violation(error):
                    raise conflict from None
                raise

    async def insert_unique(self, table: sa.Table, row: Mapping[str, Any], conflict: Conflict) -> None:
        """Insert `row`, raising `conflict` instead when a unique constraint already holds its values.

        `ON CONFLICT DO NOTHING` leaves the transaction usable on both databases without a savepoint
        (two more statements, and two more round trips on PostgreSQL).
        """
        statement = _insert_if_new(self._connection.dialect.name, table)
        if (await self.execute(statement, row)).first() is None:
            raise conflict

    async def commit(self) -> None:
        with _domain_errors():
            await self._connection.commit()


@functools.cache
def _insert_if_new(dialect: str, table: sa.Table) -> Executable:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


@contextlib.contextmanager
def _domain_errors() -> Iterator[None]:
    try:
        yield
    except exc.StatementError as error:
        translated = domain_error(error)
        if translated is None:
            raise
        raise translated from error


def is_unique_violation(error: exc.IntegrityError) -> bool:
    return (
        getattr(error.orig, "sqlstate", None) == _SQLSTATE_UNIQUE_VIOLATION
        or getattr(error.orig, "sqlite_errorcode", None) in _SQLITE_UNIQUE
    )


def unstorable(error: UnstorableValue) -> InvalidInput:
    return InvalidInput(errors=[ErrorDetail(loc=(), msg=str(error), type="unstorable_value")])


def domain_error(error: exc.StatementError) -> WfError | None:
    """The domain error a database error stands for, or None when it is a bug to let through."""
    if isinstance(error.orig, UnstorableValue):
        return unstorable(error.orig)
    if not isinstance(error, exc.DBAPIError):
        return None
    if getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return TransientConflict("the change collided with a concurrent one and was not made; retry the request")
    if error.connection_invalidated:
        return ServiceUnavailable("the connection to the database was lost")
    sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
    if sqlite_code is not None and sqlite_code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return ServiceUnavailable("the database is locked by another process; retry the request")
    return None
