"""Where `wf workflows apply` applies to: the local database, or a live wf server on SQLite or PostgreSQL.

`target` runs a test against each of the three; `local_target` is the local database only. The
example agents are registered first: through the facade locally, through the REST API on a server.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from fixtures.service import start_service, stop_service
from integration.cli.applying import copy_examples, example_agents
from wfapp.service import WorkflowService
from wfapp.settings import Settings
from wfcore.use_cases.workflows import WorkflowCatalog


@attrs.frozen
class ApplyTarget:
    """A store to apply to: the arguments that choose it, and its catalog to check what was stored."""

    argv: tuple[str, ...]
    catalog: WorkflowCatalog


@contextlib.asynccontextmanager
async def local_database(database_url: str) -> AsyncIterator[ApplyTarget]:
    """A migrated database with the example agents; the command opens it with a facade of its own."""
    service = await WorkflowService.open(database_url, workers=False, migrate=False)
    try:
        for agent in example_agents():
            await service.register_agent(**agent)
        yield ApplyTarget(("--database-url", database_url), service.workflows)
    finally:
        await service.close()


@contextlib.asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[ApplyTarget]:
    """A live wf server, as `wf serve` wires it, with the example agents registered through its API."""
    client, container, workers = await start_service(settings)
    keys = list(settings.api_keys.values())
    headers = {"X-API-Key": keys[0]} if keys else {}
    try:
        for agent in example_agents():
            response = await client.post("/api/v1/agents", json=agent, headers=headers)
            assert response.status == 201, await response.text()
        yield ApplyTarget(("--url", str(client.make_url(""))), container.workflows())
    finally:
        await stop_service(client, container, workers)


@pytest.fixture(params=["local", "server-sqlite", "server-postgres"])
def target_database(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Where `target` is, and its database URL (fixtures are looked up here, outside any event loop)."""
    kind: str = request.param
    url: str = request.getfixturevalue("migrated_postgres_url" if kind.endswith("postgres") else "migrated_sqlite_url")
    return kind, url


@pytest.fixture
async def target(target_database: tuple[str, str]) -> AsyncIterator[ApplyTarget]:
    """The local SQLite database, and a server on SQLite and on PostgreSQL."""
    kind, url = target_database
    context = local_database(url) if kind == "local" else live_server(Settings(database_url=url))
    async with context as found:
        yield found


@pytest.fixture
async def local_target(migrated_sqlite_url: str) -> AsyncIterator[ApplyTarget]:
    async with local_database(migrated_sqlite_url) as found:
        yield found


@pytest.fixture
def workflows_dir(tmp_path: Path) -> Path:
    """An editable copy of `examples/workflows`."""
    return copy_examples(tmp_path / "workflows")
