"""PostgreSQL: asyncpg connections kept open for one-statement uses (`direct.fetch`), beside SQLAlchemy's pool.

Taking a connection from SQLAlchemy's pool and giving it back costs about 100 µs of CPU (its events,
the reset on return, the greenlet every await crosses), five times a short statement's own cost on
asyncpg; the engine's hot paths make several such statements per run. Here a connection is taken
from a stack of idle ones, and given back by pushing it there again.

Connections are opened when none is idle, up to `size` in use at once; more uses wait for one, as
long as SQLAlchemy's pool would (`ServiceUnavailable` after). They are set up as SQLAlchemy sets up
its own: JSON and JSONB in the binary format, read with the engine's deserializer. One older than
`recycle_seconds` is replaced when taken.

A use interrupted while its statement runs (cancelled) waits until the server has stopped it: asyncpg
asks the server to cancel the statement, and a cancelled write left running could still commit later,
a lease taken or a step written by a worker that gave up on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from wfcore.domain.errors import ServiceUnavailable

# SQLAlchemy's own arguments for its asyncpg adapter, which asyncpg.connect does not take.
_SQLALCHEMY_ONLY = ("async_creator_fn", "prepared_statement_cache_size", "prepared_statement_name_func")
# Refused, timed out, or turned away by the server (authentication, too many connections, starting up).
_UNREACHABLE = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
WAIT_SECONDS = 30.0  # for a free connection: SQLAlchemy's pool_timeout
STOP_SECONDS = 5.0  # for the server to stop an interrupted statement; the connection is closed after


class StatementPool:
    """Up to `size` asyncpg connections in use at once, idle ones kept open for the next use."""

    def __init__(
        self, engine: AsyncEngine, *, size: int, recycle_seconds: float, json_deserializer: Callable[[str], Any]
    ) -> None:
        _, arguments = engine.dialect.create_connect_args(engine.url)
        self._arguments = {name: value for name, value in arguments.items() if name not in _SQLALCHEMY_ONLY}
        self._recycle_seconds = recycle_seconds
        self._json_deserializer = json_deserializer
        self.size = size
        """How many connections may be in use at once."""
        self._turns = asyncio.Semaphore(size)
        self._idle: list[tuple[asyncpg.Connection, float]] = []
        self._closed = False

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection for one statement; `ServiceUnavailable` when none is free in time or none can be opened.

        It is kept for the next use when the block is left, unless it was closed (the caller closes one it
        found broken).
        """
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                await self._turns.acquire()
        except TimeoutError:
            raise ServiceUnavailable("every database connection stayed busy; try again later") from None
        try:
            connection, opened_at = await self._take()
            try:
                yield connection
            except Exception:
                self._give_back(connection, opened_at)
                raise
            except BaseException:
                await asyncio.shield(self._stop_interrupted(connection, opened_at))
                raise
            self._give_back(connection, opened_at)
        finally:
            self._turns.release()

    async def close(self) -> None:
        """Close the idle connections; connections in use are closed when given back, and no more are opened."""
        idle, self._idle = self._idle, []
        self._closed = True
        for connection, _ in idle:
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)

    async def _take(self) -> tuple[asyncpg.Connection, float]:
        if self._closed:
            raise ServiceUnavailable("the database connections are closed")
        while self._idle:
            connection, opened_at = self._idle.pop()
            if not connection.is_closed() and time.monotonic() - opened_at < self._recycle_seconds:
                return connection, opened_at
            connection.terminate()
        return await self._open(), time.monotonic()

    async def _open(self) -> asyncpg.Connection:
        connection: asyncpg.Connection | None = None
        try:
            connection = await asyncpg.connect(**self._arguments)
            await self._set_up(connection)
        except BaseException as error:
            if connection is not None:
                connection.terminate()
            if isinstance(error, _UNREACHABLE):
                raise ServiceUnavailable("the database is unavailable") from error
            raise
        return connection

    async def _set_up(self, connection: asyncpg.Connection) -> None:
        read = self._json_deserializer
        await connection.set_type_codec(
            "json",
            schema="pg_catalog",
            format="binary",
            encoder=str.encode,
            decoder=lambda value: read(value.decode()),
        )
        await connection.set_type_codec(
            "jsonb",
            schema="pg_catalog",
            format="binary",
            encoder=lambda text: b"\x01" + text.encode(),  # JSONB's binary format: a version byte, then the text
            decoder=lambda value: read(value[1:].decode()),
        )

    async def _stop_interrupted(self, connection: asyncpg.Connection, opened_at: float) -> None:
        """Wait until the server stopped the interrupted statement, then keep the connection; else close it.

        asyncpg sent the cancel request; its next statement waits until the server has answered the
        interrupted one, cancelled or finished.
        """
        try:
            await asyncio.wait_for(connection.execute("SELECT 1"), STOP_SECONDS)
        except Exception:
            connection.terminate()
        else:
            self._give_back(connection, opened_at)

    def _give_back(self, connection: asyncpg.Connection, opened_at: float) -> None:
        if self._closed or connection.is_closed():
            connection.terminate()
        else:
            self._idle.append((connection, opened_at))
