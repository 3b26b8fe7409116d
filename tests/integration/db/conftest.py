"""Database integration tests: the SQL backends, fresh databases and migrated ones."""

from contract.backends import postgres_backend, sql, sqlite_backend  # noqa: F401
from fixtures.postgres import (  # noqa: F401
    migrated_postgres_database,
    migrated_postgres_url,
    migrated_sqlite_template,
    migrated_sqlite_url,
    postgres_server_url,
    postgres_url,
    sqlite_url,
)
