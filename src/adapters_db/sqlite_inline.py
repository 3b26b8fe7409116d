"""SQLite on the event loop's own thread, shaped like the aiosqlite connection SQLAlchemy adapts.

aiosqlite hands every call (cursor, execute, fetch, close) to a worker thread and back: about twenty
thread hops per unit of work, which cost far more than the SQLite work itself (tens of microseconds
per transaction in WAL mode). With one serialised connection there is nothing for a thread to overlap,
so the calls run inline. The one call that could wait long, taking the write lock while another
process holds it, does not block: SQLite is told not to wait (`busy_timeout=0`) and the wait happens
here, asleep on the event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

_SQLITE_BUSY = 5
_FIRST_PAUSE_S = 0.001
_LONGEST_PAUSE_S = 0.05


class InlineCursor:
    """An async face on a `sqlite3.Cursor` whose calls complete at once."""

    def __init__(self, cursor: sqlite3.Cursor, busy_timeout_s: float) -> None:
        self._cursor = cursor
        self._busy_timeout_s = busy_timeout_s

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        await _when_not_busy(lambda: self._cursor.execute(sql, parameters or ()), self._busy_timeout_s)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        rows = list(parameters)  # replayable if the first try finds the database busy
        await _when_not_busy(lambda: self._cursor.executemany(sql, rows), self._busy_timeout_s)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An async face on a `sqlite3.Connection` in autocommit mode: SQLAlchemy emits BEGIN itself."""

    def __init__(self, connection: sqlite3.Connection, busy_timeout_s: float) -> None:
        # SQLAlchemy's aiosqlite adapter looks at `_connection` to know whether the connection is open.
        self._connection: sqlite3.Connection | None = connection
        self._busy_timeout_s = busy_timeout_s

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open().cursor(), self._busy_timeout_s)

    async def begin_immediate(self) -> None:
        """Start a transaction holding the write lock, waiting asleep while another process holds it."""
        await _when_not_busy(lambda: self._open().execute("BEGIN IMMEDIATE"), self._busy_timeout_s)

    async def commit(self) -> None:
        await _when_not_busy(self._open().commit, self._busy_timeout_s)

    async def rollback(self) -> None:
        self._open().rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's `terminate`)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection


async def connect(path: str, *, busy_timeout_s: float) -> InlineConnection:
    """Open `path` (":memory:" for a private in-memory database) in autocommit mode."""
    # timeout=0: SQLite never waits for a lock itself. The connection never leaves the event loop's
    # thread, except to be closed by the garbage collector.
    connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    return InlineConnection(connection, busy_timeout_s)


async def _when_not_busy(call: Callable[[], T], timeout_s: float) -> T:
    """`call()`, retried while another process holds the lock, for up to `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    pause = _FIRST_PAUSE_S
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != _SQLITE_BUSY or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE_S)
