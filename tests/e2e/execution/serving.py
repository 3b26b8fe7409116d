"""Services built in the test process with settings of a test's choosing (the `service` fixture's, varied)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from cryptography.fernet import Fernet

from e2e.execution.service_api import Wf
from fixtures.service import start_service, stop_service
from wfapp.settings import Settings


@contextlib.asynccontextmanager
async def serving(database_url: str, demo_agent_url: str | None = None, **settings: Any) -> AsyncIterator[Wf]:
    """A service on `database_url` with workers, and a client of it; with `demo_agent_url`, the demo agents
    registered (see `Wf.demo_agents`)."""
    configured = Settings(
        database_url=database_url, secret_key=(Fernet.generate_key().decode(),), lease_seconds=5.0, **settings
    )
    client, container, workers = await start_service(configured)
    try:
        api = Wf(client)
        if demo_agent_url is not None:
            await api.demo_agents(demo_agent_url)
        yield api
    finally:
        await stop_service(client, container, workers)
