"""The contract suite: every test runs on each persistence backend through the `uow` fixture."""

from contract.backends import memory_backend, postgres_backend, sql, sqlite_backend, uow  # noqa: F401
from fixtures.postgres import (  # noqa: F401
    migrated_postgres_database,
    migrated_postgres_url,
    migrated_sqlite_template,
    migrated_sqlite_url,
    postgres_server_url,
)
