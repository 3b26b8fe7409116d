"""Connecting to the database: SQLite through one serialised connection, PostgreSQL through a pool.

SQLite has a single writer anyway; many pooled connections only add lock contention (the p99 latency
was 7x worse in our measurements). So every unit of work on SQLite takes one asyncio lock and the one
connection, in WAL mode, with `BEGIN IMMEDIATE` so that a transaction holds the write lock from its
start and cannot fail half-way when another process writes. That connection runs on the event loop's
thread (`sqlite_inline`), not on aiosqlite's worker thread: the thread hops cost several times the
SQLite work. PostgreSQL uses asyncpg and a normal pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from adapters_db import sqlite_inline
from adapters_db.statement_pool import StatementPool
from adapters_db.types import json_dumps
from wfcore.domain.errors import ServiceUnavailable

SQLITE_BUSY_TIMEOUT_S = 5.0
POSTGRES_POOL_SIZE = 20
POSTGRES_MAX_OVERFLOW = 10
POSTGRES_RECYCLE_SECONDS = 300


class Database:
    """One database: its engine, and the connections units of work run on."""

    def __init__(
        self, engine: AsyncEngine, *, single_connection: bool, statements: StatementPool | None = None
    ) -> None:
        self.engine = engine
        self.statements = statements
        """PostgreSQL's connections for one-statement uses (`direct.fetch`); None on SQLite."""
        self._turn: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if single_connection else contextlib.nullcontext()
        )

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one transaction; on SQLite, waits for its turn at the single connection.

        Leaving the block closes the connection, which rolls back whatever was not committed.
        """
        async with self._turn:
            connection = self.engine.connect()
            try:
                await connection.start()
            except (exc.DBAPIError, exc.TimeoutError, OSError) as error:
                # TimeoutError: every pooled connection stayed busy for the pool's whole timeout.
                raise ServiceUnavailable("the database is unavailable") from error
            try:
                yield connection
            finally:
                await connection.close()

    async def ping(self) -> None:
        """Run one trivial query; `ServiceUnavailable` when the database does not answer."""
        async with self.connect() as connection:
            try:
                await connection.execute(sa.text("SELECT 1"))
            except exc.DBAPIError as error:
                raise ServiceUnavailable("the database does not answer") from error

    async def dispose(self) -> None:
        """Close every connection; call once at shutdown."""
        if self.statements is not None:
            await self.statements.close()
        await self.engine.dispose()


def create_database(
    url: str, *, sqlite_busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S, postgres_pool_size: int = POSTGRES_POOL_SIZE
) -> Database:
    """A `Database` for a `sqlite+aiosqlite://` or `postgresql+asyncpg://` URL. Connects lazily.

    For SQLite only the file path of the URL counts (no query options); without one the database
    lives in memory for as long as the `Database`. A transaction waits up to `sqlite_busy_timeout_s`
    for another process to release the write lock, then fails with `ServiceUnavailable`.

    PostgreSQL keeps up to `postgres_pool_size` connections open: half of them (at least one) for
    one-statement uses (`Database.statements`), which wait for one of them when all are busy, and the
    rest (at least one) in SQLAlchemy's pool for transactions, where a burst opens up to
    `POSTGRES_MAX_OVERFLOW` more, each closed when given back. Opening one costs the server a new
    backend process and the client a connection handshake, so the pool should cover the connections
    a process uses at once in steady work.
    """
    parsed = sa.make_url(url)
    common: dict[str, Any] = {"json_serializer": json_dumps, "json_deserializer": json.loads}
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(
            parsed,
            async_creator=functools.partial(
                sqlite_inline.connect, parsed.database or ":memory:", busy_timeout_s=sqlite_busy_timeout_s
            ),
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            **common,
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return Database(engine, single_connection=True)
    # No ping before each use: it is one more round trip per transaction. A connection found dead
    # instead fails its transaction (a 503, or a run write the sweep recovers) and makes the pool
    # replace every connection as old as it; recycling keeps idle ones from dying behind a firewall.
    for_statements = max(1, postgres_pool_size // 2)
    engine = create_async_engine(
        parsed,
        pool_size=max(1, postgres_pool_size - for_statements),
        max_overflow=POSTGRES_MAX_OVERFLOW,
        pool_recycle=POSTGRES_RECYCLE_SECONDS,
        **common,
    )
    statements = StatementPool(
        engine,
        size=for_statements,
        recycle_seconds=POSTGRES_RECYCLE_SECONDS,
        json_deserializer=common["json_deserializer"],
    )
    return Database(engine, single_connection=False, statements=statements)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode; only a power loss can drop the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_immediate(connection: sa.Connection) -> None:
    # The connection is in autocommit mode, so the transaction starts here, before any SELECT;
    # IMMEDIATE takes the write lock at once, so a transaction cannot fail half-way for want of it.
    # Straight to the driver: SQLAlchemy's statement path costs several times the BEGIN itself.
    adapted = connection.connection.dbapi_connection
    assert isinstance(adapted, AdaptedConnection)
    try:
        adapted.run_async(lambda inline: inline.begin_immediate())
    except sqlite3.Error as error:
        # As SQLAlchemy wraps the errors of its own statements, so that they are translated alike.
        raise exc.OperationalError("BEGIN IMMEDIATE", None, error) from error
