"""Fixtures of the execution tests: the service with the demo agent's endpoints registered, a recording agent,
and a service whose only worker slot a test can fill."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from e2e.execution.recording_agent import RecordingAgent
from e2e.execution.service_api import Wf
from e2e.execution.serving import serving
from fixtures.agents import DemoAgent
from fixtures.service import RunningService


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


@pytest.fixture
async def narrow_wf(service_database_url: str, demo_agent: DemoAgent) -> AsyncIterator[Wf]:
    """Like `wf`, but the service runs one run at a time: a second run waits `pending` for the first."""
    async with serving(service_database_url, demo_agent.base_url, worker_concurrency=1) as api:
        yield api
