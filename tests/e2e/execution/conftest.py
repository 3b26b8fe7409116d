"""Fixtures of the execution tests: the service with the demo agent's endpoints registered, a recording agent,
and a service whose only worker slot a test can fill."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet

from e2e.execution.recording_agent import RecordingAgent
from e2e.execution.service_api import Wf
from fixtures.agents import DemoAgent
from fixtures.service import RunningService, start_service, stop_service
from wfapp.settings import Settings


@pytest.fixture
async def wf(service: RunningService, demo_agent: DemoAgent) -> Wf:
    """The service (SQLite and PostgreSQL) with agents `echo`, `sleep`, `fail`, `text`, `big` on the demo agent."""
    api = Wf(service.client)
    await api.demo_agents(demo_agent.base_url)
    return api


@pytest.fixture
async def recording_agent() -> AsyncIterator[RecordingAgent]:
    """A recording agent (see `recording_agent.py`) on 127.0.0.1 for one test."""
    agent = RecordingAgent()
    await agent.server.start_server()
    try:
        yield agent
    finally:
        await agent.server.close()


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[RunningService]:
    client, container, workers = await start_service(settings)
    try:
        yield RunningService(client=client, container=container, settings=settings)
    finally:
        await stop_service(client, container, workers)


@pytest.fixture
async def narrow_wf(service_database_url: str, demo_agent: DemoAgent) -> AsyncIterator[Wf]:
    """Like `wf`, but the service runs one run at a time: a second run waits `pending` for the first."""
    settings = Settings(
        database_url=service_database_url,
        secret_key=(Fernet.generate_key().decode(),),
        lease_seconds=5.0,
        worker_concurrency=1,
    )
    async with serving(settings) as service:
        api = Wf(service.client)
        await api.demo_agents(demo_agent.base_url)
        yield api
