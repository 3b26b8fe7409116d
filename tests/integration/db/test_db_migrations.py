"""Alembic migrations: up, down and up again on both databases; the result matches `tables.metadata`."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters_db import migrate
from adapters_db.tables import metadata

HEAD = "0001"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest) -> str:
    """A database that exists but has no tables yet, on each database in turn."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def _schema_differences(url: str) -> list[Any]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
            )
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_and_upgrade_again(empty_url: str) -> None:
    assert await migrate.current_async(empty_url) is None
    await migrate.upgrade_async(empty_url)
    assert await migrate.current_async(empty_url) == HEAD
    assert await _tables(empty_url) == {*metadata.tables, "alembic_version"}
    await migrate.downgrade_async(empty_url, "base")
    assert await migrate.current_async(empty_url) is None
    assert await _tables(empty_url) == {"alembic_version"}
    await migrate.upgrade_async(empty_url)
    assert await migrate.current_async(empty_url) == HEAD


async def test_the_migrated_schema_is_the_one_the_adapter_uses(empty_url: str) -> None:
    await migrate.upgrade_async(empty_url)
    assert await _schema_differences(empty_url) == []


async def test_a_schema_change_missing_from_the_migrations_is_detected(empty_url: str) -> None:
    await migrate.upgrade_async(empty_url)
    await migrate.downgrade_async(empty_url, "base")
    engine = create_async_engine(empty_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(sa.text("DROP INDEX ix_runs_created_at"))
    finally:
        await engine.dispose()
    differences = await _schema_differences(empty_url)
    assert [difference[0] for difference in differences] == ["add_index"]


async def test_migrate_to_goes_up_or_down_from_where_the_schema_is(empty_url: str) -> None:
    await migrate.migrate_to_async(empty_url, "head")
    assert await migrate.current_async(empty_url) == HEAD
    await migrate.migrate_to_async(empty_url, HEAD)
    assert await migrate.current_async(empty_url) == HEAD
    await migrate.migrate_to_async(empty_url, "base")
    assert await migrate.current_async(empty_url) is None


def test_the_synchronous_functions_work_without_an_event_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/sync.db"
    migrate.upgrade(url)
    assert migrate.current(url) == HEAD
    migrate.downgrade(url, "base")
    assert migrate.current(url) is None


def test_offline_mode_prints_the_postgresql_ddl() -> None:
    config = migrate.alembic_config("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    ddl = config.output_buffer.getvalue()
    assert "CREATE TABLE runs" in ddl
    assert "CREATE UNIQUE INDEX ux_agents_live_name ON agents (name) WHERE deleted_at IS NULL" in ddl
    assert "JSONB" in ddl
