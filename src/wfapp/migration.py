"""`wf migrate` and the migration the embedded server runs on start."""

from __future__ import annotations

from adapters_db import migrate as alembic_migrations


def migrate(database_url: str, revision: str = "head") -> str:
    """Move the schema to `revision`, up or down; returns a line saying where it is now."""
    alembic_migrations.migrate_to(database_url, revision)
    return f"database schema at revision {alembic_migrations.current(database_url) or 'base'}"


async def upgrade_to_head(database_url: str) -> None:
    await alembic_migrations.upgrade_async(database_url, "head")
