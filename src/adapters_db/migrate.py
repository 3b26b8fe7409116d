"""Schema migrations, driven through Alembic's API.

The plain functions are for synchronous callers (the `wf migrate` command); they run an event loop
of their own. From async code (`wf serve` migrating on start) await the `_async` variants, which run
the same work in a thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

# In a checkout, adapters_db/migrations is a symbolic link to the repository's migrations/;
# a wheel holds a copy of its files there.
SCRIPT_LOCATION = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url`, with no ini file (nothing touches the logging set-up)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # An attribute, not the `sqlalchemy.url` option: options interpolate `%`, which URLs may contain.
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the schema down to `revision` (`base`: no tables at all)."""
    command.downgrade(alembic_config(url), revision)


def migrate_to(url: str, revision: str = "head") -> None:
    """Go to `revision`, up or down from wherever the schema is (the `wf migrate --revision` rule)."""
    if revision == "base" or _is_below_current(url, revision):
        downgrade(url, revision)
    else:
        upgrade(url, revision)


def current(url: str) -> str | None:
    """The revision the schema is at; None when it was never migrated."""
    return asyncio.run(current_async(url))


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)


async def downgrade_async(url: str, revision: str) -> None:
    await asyncio.to_thread(downgrade, url, revision)


async def migrate_to_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(migrate_to, url, revision)


async def current_async(url: str) -> str | None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision)
    finally:
        await engine.dispose()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _is_below_current(url: str, revision: str) -> bool:
    at = current(url)
    if at is None:
        return False
    script = ScriptDirectory.from_config(alembic_config(url))
    target = script.get_revision(revision)
    if target is None:
        return False
    return target.revision != at and any(step.revision == target.revision for step in script.walk_revisions(at, "base"))
