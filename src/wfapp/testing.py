"""A test harness for your own workflows: in-process fake agents, no HTTP, no database, no waiting.

```python
from wfapp.testing import AgentFailure, WorkflowTestHarness

async def test_triage_routes_refunds() -> None:
    async with WorkflowTestHarness() as wf:
        await wf.agent("classifier", lambda call: {"kind": "refund", "reason": "broken"})
        await wf.agent("refunds", lambda call: {"refunded": call.input["ticket"]["id"]})
        result = await wf.run(TRIAGE_DEFINITION, input={"ticket": {"id": 7, "body": "it broke"}})
        assert result.status == "succeeded"
        assert result.steps["refund"].output == {"refunded": 7}
        assert wf.calls("classifier") == 1
```

Agents are Python callables taking the `AgentCall` (its `input` is the step's resolved input) and
returning the step's output, sync or async. Raise `AgentFailure(status)` to answer like a failing
agent: statuses in the agent's `retry_on_status` are retried with backoff, as in production. The
clock is virtual, so backoffs and timeouts take no real time.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import attrs

from adapters_http.server.converter import structure
from adapters_http.server.schemas.agents import AgentCreate
from adapters_http.server.schemas.workflows import WorkflowBody
from adapters_memory.agents import AgentFailure, AgentFunction, CallableInvoker
from adapters_memory.dispatcher import InProcessDispatcher
from adapters_memory.store import MemoryStore
from adapters_memory.system import UuidGenerator, VirtualClock
from adapters_memory.unit_of_work import MemoryUnitOfWork
from wfcore.domain.events import RunEvent
from wfcore.domain.ids import RunId, WorkflowId
from wfcore.domain.runs import Run, StepExecution
from wfcore.ports.agents import AgentCall
from wfcore.ports.persistence import WorkflowQuery
from wfcore.use_cases.agents import AgentRegistry
from wfcore.use_cases.common import Actor, Services
from wfcore.use_cases.engine import EngineSettings, RunEngine
from wfcore.use_cases.execution import ExecuteWorkflow, ExecuteWorkflowHandler
from wfcore.use_cases.runs import RetryRun, RunCommands, RunQueries
from wfcore.use_cases.workflows import SaveWorkflow, WorkflowCatalog

__all__ = ["AgentCall", "AgentFailure", "RunResult", "WorkflowTestHarness"]

_ACTOR = Actor(user_id="test")


@attrs.frozen
class RunResult:
    """A finished run, its steps by id, and its event log."""

    run: Run
    steps: Mapping[str, StepExecution]
    events: list[RunEvent]

    @property
    def status(self) -> str:
        return self.run.status.value

    @property
    def output(self) -> Any:
        return self.run.output


class WorkflowTestHarness:
    """The real use cases and engine on in-memory adapters, with a virtual clock."""

    def __init__(self) -> None:
        self.clock = VirtualClock(autojump=True)
        store = MemoryStore()
        self.services = Services(uow=lambda: MemoryUnitOfWork(store), clock=self.clock, ids=UuidGenerator())
        self.invoker = CallableInvoker(self.clock)
        dispatcher = InProcessDispatcher()
        self.agents = AgentRegistry(self.services, self.invoker)
        self.workflows = WorkflowCatalog(self.services)
        self.runs = RunQueries(self.services)
        self.run_commands = RunCommands(self.services, dispatcher)
        self._execute = ExecuteWorkflowHandler(self.services, dispatcher)
        self.engine = RunEngine(self.services, self.invoker, EngineSettings(owner="test-harness"))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        return None

    async def agent(self, name: str, function: AgentFunction, **fields: Any) -> None:
        """Register an in-process agent; `fields` are those of `POST /api/v1/agents` (retry_config, ...)."""
        self.invoker.register(name, function)
        body = {"url": f"http://{name}.agents.test/", **fields, "name": name}
        await self.agents.register(structure(body, AgentCreate).to_command(_ACTOR))

    def calls(self, agent_name: str) -> int:
        """How many attempts reached the agent so far."""
        return len(self.agent_calls(agent_name))

    def agent_calls(self, agent_name: str) -> list[AgentCall]:
        return [call for call in self.invoker.calls if call.agent.name == agent_name]

    async def save(self, definition: Mapping[str, Any]) -> WorkflowId:
        """Create the workflow, or add a version when one with its name exists; returns its id."""
        parsed = structure(dict(definition), WorkflowBody).to_definition()
        command = SaveWorkflow(definition=parsed, document=definition, actor=_ACTOR)
        existing = await self._workflow_named(parsed.name)
        if existing is None:
            return (await self.workflows.create(command)).workflow_id
        return (await self.workflows.update(existing, command)).workflow_id

    async def run(self, definition: Mapping[str, Any], input: Any = None) -> RunResult:
        """Save the definition, execute it with `input` and drive the run to its end."""
        workflow_id = await self.save(definition)
        execution = await self._execute(
            ExecuteWorkflow(workflow_id=workflow_id, input={} if input is None else input, actor=_ACTOR)
        )
        return await self.finish(execution.run.id)

    async def retry(self, result: RunResult, from_step: str | None = None) -> RunResult:
        """Redrive a failed or cancelled run and drive it to its end again."""
        await self.run_commands.retry(RetryRun(run_id=result.run.id, from_step=from_step, actor=_ACTOR))
        return await self.finish(result.run.id)

    async def finish(self, run_id: str) -> RunResult:
        await self.engine.execute(RunId(run_id))
        run = await self.runs.get(RunId(run_id))
        steps = {step.step_id: step for step in await self.runs.steps(run.id)}
        return RunResult(run=run, steps=steps, events=await self.runs.events(run.id))

    async def _workflow_named(self, name: str) -> WorkflowId | None:
        page = await self.workflows.list(WorkflowQuery(name_contains=name, limit=100))
        for workflow in page.items:
            if workflow.name == name:
                return workflow.id
        return None
