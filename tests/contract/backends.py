"""The persistence backends the contract suite runs on: in-memory, SQLite and PostgreSQL.

Fixtures: `uow` (a unit-of-work factory on each backend in turn) and `sql` (each SQL backend in turn,
with its `Database` for reading raw rows). A conftest.py imports them with the `fixtures.postgres` ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

import attrs
import pytest

from adapters_db.engine import Database, create_database
from adapters_db.secrets import FernetSecretBox
from adapters_db.unit_of_work import SqlUnitOfWorkFactory
from adapters_memory.store import MemoryStore
from adapters_memory.unit_of_work import MemoryUnitOfWork
from wfcore.use_cases.common import UnitOfWorkFactory

T = TypeVar("T")

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@attrs.frozen
class SqlBackend:
    """A migrated database with the unit-of-work factory the service would build on it."""

    database: Database
    secret_box: FernetSecretBox

    @property
    def uow(self) -> SqlUnitOfWorkFactory:
        return SqlUnitOfWorkFactory(self.database, self.secret_box)


@contextlib.asynccontextmanager
async def sql_backend(url: str) -> AsyncIterator[SqlBackend]:
    database = create_database(url)
    try:
        yield SqlBackend(database, FernetSecretBox([FernetSecretBox.new_key()]))
    finally:
        await database.dispose()


@pytest.fixture
def memory_backend() -> UnitOfWorkFactory:
    store = MemoryStore()
    return lambda: MemoryUnitOfWork(store)


@pytest.fixture
async def sqlite_backend(migrated_sqlite_url: str) -> AsyncIterator[SqlBackend]:
    async with sql_backend(migrated_sqlite_url) as backend:
        yield backend


@pytest.fixture
async def postgres_backend(migrated_postgres_url: str) -> AsyncIterator[SqlBackend]:
    async with sql_backend(migrated_postgres_url) as backend:
        yield backend


@pytest.fixture(params=["memory", *SQL_BACKENDS])
def uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    """A unit-of-work factory on a fresh, empty store of each backend in turn."""
    backend = request.getfixturevalue(f"{request.param}_backend")
    return backend.uow if isinstance(backend, SqlBackend) else backend


@pytest.fixture(params=SQL_BACKENDS)
def sql(request: pytest.FixtureRequest) -> SqlBackend:
    """Each SQL backend in turn, on a fresh migrated database."""
    backend: SqlBackend = request.getfixturevalue(f"{request.param}_backend")
    return backend


@attrs.frozen
class WithPort(Generic[T]):
    """A backend's unit-of-work factory, and its implementation of one more port."""

    uow: UnitOfWorkFactory
    port: T


def with_port(
    request: pytest.FixtureRequest,
    through_units_of_work: Callable[[UnitOfWorkFactory], T],
    on_postgres: Callable[[SqlBackend], T],
) -> WithPort[T]:
    """The backend named by the fixture's param, with its implementation of a port that PostgreSQL implements
    in statements of its own and the other backends through units of work."""
    found = request.getfixturevalue(f"{request.param}_backend")
    if not isinstance(found, SqlBackend):
        return WithPort(found, through_units_of_work(found))
    if found.database.dialect == "postgresql":
        return WithPort(found.uow, on_postgres(found))
    return WithPort(found.uow, through_units_of_work(found.uow))
