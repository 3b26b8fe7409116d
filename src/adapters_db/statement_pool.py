"""PostgreSQL: asyncpg connections kept open for one-statement uses (`direct.fetch`), beside SQLAlchemy's pool.

Taking a connection from SQLAlchemy's pool and giving it back costs about 100 µs of CPU (its events,
the reset on return, the greenlet every await crosses), five times a short statement's own cost on
asyncpg; the engine's hot paths make several such statements per run. Here a connection is taken
from a stack of idle ones, and given back by pushing it there again.

Connections are opened when none is idle, up to `size` in use at once (more uses wait for one), and
set up as SQLAlchemy sets up its own: JSON and JSONB read with the engine's deserializer. A connection
whose statement was interrupted (cancelled, or the connection lost) is closed rather than given back,
and one older than `recycle_seconds` is replaced when taken.
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
        """A connection for one statement; `ServiceUnavailable` when none can be opened.

        It is kept for the next use when the block is left, unless it was closed (the caller closes one it
        found broken) or the block was interrupted (cancelled): the statement may still be under way.
        """
        async with self._turns:
            connection, opened_at = await self._take()
            try:
                yield connection
            except Exception:
                self._give_back(connection, opened_at)
                raise
            except BaseException:
                connection.terminate()
                raise
            self._give_back(connection, opened_at)

    async def close(self) -> None:
        """Close the idle connections; connections in use are closed when given back."""
        idle, self._idle = self._idle, []
        self._closed = True
        for connection, _ in idle:
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)

    async def _take(self) -> tuple[asyncpg.Connection, float]:
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
            for json_type in ("json", "jsonb"):
                await connection.set_type_codec(
                    json_type, schema="pg_catalog", encoder=_json_text, decoder=self._json_deserializer
                )
        except BaseException as error:
            if connection is not None:
                connection.terminate()
            if isinstance(error, _UNREACHABLE):
                raise ServiceUnavailable("the database is unavailable") from error
            raise
        return connection

    def _give_back(self, connection: asyncpg.Connection, opened_at: float) -> None:
        if self._closed or connection.is_closed():
            connection.terminate()
        else:
            self._idle.append((connection, opened_at))


def _json_text(value: str) -> str:
    """A JSON parameter is passed as the text its statement encoded (`types.json_dumps`), never as a value."""
    if not isinstance(value, str):
        raise TypeError(f"a JSON parameter must be JSON text, not {type(value).__name__}")
    return value
