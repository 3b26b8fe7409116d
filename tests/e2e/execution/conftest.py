"""Fixtures of the execution tests: the service on each deployment with the demo agent's endpoints registered,
a recording agent, and a service whose every worker runs one run at a time.

Each test that takes `wf`, `narrow_wf` or `deployment` runs three times: on a service in the test process
with SQLite and with PostgreSQL, and on the distributed stack (`wf serve` and two `wf worker` processes on
PostgreSQL and the Tansu broker). The distributed stacks take seconds to start, so the tests share them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from distributed.stack import SharedStacks
from e2e.execution.recording_agent import RecordingAgent
from e2e.execution.service_api import Wf
from e2e.execution.serving import Deployment, Distributed, Embedded
from fixtures.agents import DemoAgent

DISTRIBUTED_WORKERS = 2


# Package scope makes pytest run the tests deployment by deployment, so that the shared stacks, which the
# first distributed test starts, are not running beside the SQLite and PostgreSQL ones.
@pytest.fixture(
    scope="package",
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("distributed", marks=[pytest.mark.postgres, pytest.mark.kafka]),
    ],
)
def deployment_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="package")
def shared_stacks(
    tmp_path_factory: pytest.TempPathFactory, make_migrated_postgres_url: Callable[[], str], kafka_bootstrap: str
) -> Iterator[SharedStacks]:
    """The distributed stacks of this package's tests, each with its own database; stopped once they are done."""
    stacks = SharedStacks(
        tmp_path_factory.mktemp("stacks"), make_migrated_postgres_url, kafka_bootstrap, workers=DISTRIBUTED_WORKERS
    )
    try:
        yield stacks
    finally:
        stacks.close()


@pytest.fixture
def deployment(request: pytest.FixtureRequest, deployment_kind: str) -> Deployment:
    """In-process services on a migrated, empty database of this test's own, or the shared distributed stacks."""
    if deployment_kind == "distributed":
        return Distributed(request.getfixturevalue("shared_stacks"))
    return Embedded(request.getfixturevalue(f"migrated_{deployment_kind}_url"))


@pytest.fixture
async def wf(deployment: Deployment, demo_agent: DemoAgent) -> AsyncIterator[Wf]:
    """The service with agents `echo`, `sleep`, `fail`, `text`, `big` on the demo agent."""
    async with deployment.serving(demo_agent.base_url) as api:
        yield api


@pytest.fixture
async def narrow_wf(deployment: Deployment, demo_agent: DemoAgent) -> AsyncIterator[Wf]:
    """Like `wf`, but each worker runs one run at a time: once `deployment.workers` runs hold them, a run waits
    `pending`."""
    async with deployment.serving(demo_agent.base_url, worker_concurrency=1) as api:
        yield api


@pytest.fixture
async def recording_agent() -> AsyncIterator[RecordingAgent]:
    """A recording agent (see `recording_agent.py`) on 127.0.0.1 for one test."""
    agent = RecordingAgent()
    await agent.server.start_server()
    try:
        yield agent
    finally:
        await agent.server.close()
