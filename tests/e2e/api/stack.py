"""What the API tests drive: the HTTP client, and the backend behind it for running runs to the end."""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp.test_utils import TestClient

from adapters_http.server import Api
from adapters_memory.agents import CallableInvoker
from adapters_memory.dispatcher import InProcessDispatcher
from adapters_memory.store import MemoryStore
from adapters_memory.system import SystemClock, UuidGenerator
from adapters_memory.unit_of_work import MemoryUnitOfWork
from wfcore.domain.ids import RunId
from wfcore.ports.agents import AgentInvoker
from wfcore.use_cases.agents import AgentRegistry
from wfcore.use_cases.audit import AuditQueries
from wfcore.use_cases.common import Services
from wfcore.use_cases.engine import EngineSettings, RunEngine
from wfcore.use_cases.execution import ExecuteWorkflowHandler
from wfcore.use_cases.runs import RunCommands, RunQueries
from wfcore.use_cases.workflows import WorkflowCatalog


def memory_services() -> Services:
    store = MemoryStore()
    return Services(uow=lambda: MemoryUnitOfWork(store), clock=SystemClock(), ids=UuidGenerator())


def build_api(services: Services, invoker: AgentInvoker) -> Api:
    """The use cases over `services`, wired as the composition root wires them."""
    dispatcher = InProcessDispatcher()
    return Api(
        agents=AgentRegistry(services, invoker),
        workflows=WorkflowCatalog(services),
        execute=ExecuteWorkflowHandler(services, dispatcher),
        runs=RunQueries(services),
        run_commands=RunCommands(services, dispatcher),
        audit=AuditQueries(services),
    )


@attrs.frozen
class ApiStack:
    client: TestClient[Any, Any]
    services: Services
    invoker: CallableInvoker

    async def drive(self, run_id: str) -> None:
        """Execute a run to its end, as a worker would (no worker runs behind the test server)."""
        await RunEngine(self.services, self.invoker, EngineSettings(owner="e2e")).execute(RunId(run_id))
