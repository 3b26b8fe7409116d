"""Alembic environment: runs the migrations on an async engine for the URL it is given.

`adapters_db.migrate` passes the URL in `config.attributes["url"]`; the `alembic` command line reads
`sqlalchemy.url` (alembic.ini, or `-x url=...`). With `--sql`, the DDL is printed instead of run.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from adapters_db.tables import metadata


def _url() -> str:
    config = context.config
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass one to adapters_db.migrate, or -x url=... to alembic")
    return str(url)


def _run_migrations(connection: Connection) -> None:
    # Batch mode lets later revisions alter tables on SQLite, which has almost no ALTER TABLE.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


if context.config.config_file_name is not None:
    # Only the `alembic` command line has an ini file; the service keeps its own logging set-up.
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
