"""The API under test: one aiohttp server on 127.0.0.1 over the in-memory adapters.

`stack` is the one fixture that builds the application; swap it to run the same tests on another
backend (it must yield an `ApiStack` whose `services` share that backend).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters_http.server import Api, HttpSettings, ReadinessCheck, create_app
from adapters_memory.agents import CallableInvoker
from adapters_memory.dispatcher import InProcessDispatcher
from adapters_memory.store import MemoryStore
from adapters_memory.system import SystemClock, UuidGenerator
from adapters_memory.unit_of_work import MemoryUnitOfWork
from e2e.api.stack import ApiStack
from wfcore.use_cases.agents import AgentRegistry
from wfcore.use_cases.audit import AuditQueries
from wfcore.use_cases.common import Services
from wfcore.use_cases.execution import ExecuteWorkflowHandler
from wfcore.use_cases.runs import RunCommands, RunQueries
from wfcore.use_cases.workflows import WorkflowCatalog


def memory_services() -> Services:
    store = MemoryStore()
    return Services(uow=lambda: MemoryUnitOfWork(store), clock=SystemClock(), ids=UuidGenerator())


def build_api(services: Services, invoker: CallableInvoker) -> Api:
    dispatcher = InProcessDispatcher()
    return Api(
        agents=AgentRegistry(services, invoker),
        workflows=WorkflowCatalog(services),
        execute=ExecuteWorkflowHandler(services, dispatcher),
        runs=RunQueries(services),
        run_commands=RunCommands(services, dispatcher),
        audit=AuditQueries(services),
    )


@pytest.fixture
def http_settings() -> HttpSettings:
    return HttpSettings(event_poll_seconds=0.02)


@pytest.fixture
def readiness_checks() -> list[ReadinessCheck]:
    return []


@pytest.fixture
async def stack(http_settings: HttpSettings, readiness_checks: list[ReadinessCheck]) -> AsyncIterator[ApiStack]:
    services = memory_services()
    invoker = CallableInvoker(services.clock)
    app = create_app(build_api(services, invoker), http_settings, readiness_checks)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield ApiStack(client=client, services=services, invoker=invoker)


@pytest.fixture
def api_client(stack: ApiStack) -> TestClient:
    return stack.client
