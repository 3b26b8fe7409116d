"""Starting runs: input validation, version selection, idempotency keys, and what is written with the run."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from adapters_memory.direct_starts import TransactionalDirectStarts
from unit.definitions import definition, step
from unit.harness import ADA, Harness
from wfcore.domain.errors import Conflict, InvalidInput, NotFound
from wfcore.domain.events import EventType
from wfcore.domain.ids import WorkflowId
from wfcore.domain.runs import RunStatus, StepStatus
from wfcore.domain.workflows import WorkflowStatus
from wfcore.ports.dispatch import DispatchKind
from wfcore.ports.persistence import AuditQuery, DirectStarts, NewRun
from wfcore.use_cases import execution
from wfcore.use_cases.execution import ExecuteWorkflow, ExecuteWorkflowHandler
from wfcore.use_cases.workflows import SaveWorkflow

TICKET_SCHEMA = {
    "type": "object",
    "required": ["ticket"],
    "properties": {"ticket": {"type": "object", "properties": {"id": {"type": "integer"}}}},
}


@pytest.fixture
async def workflow_id(harness: Harness) -> WorkflowId:
    await harness.agent("echo")
    return (await harness.workflow(step("a"), step("b", "echo", "a"), input_schema=TICKET_SCHEMA)).workflow_id


async def test_execute_commits_the_run_its_steps_event_audit_and_dispatch_then_notifies(
    harness: Harness, workflow_id: WorkflowId
) -> None:
    execution = await harness.execute(ExecuteWorkflow(workflow_id, {"ticket": {"id": 1}}, actor=ADA))

    run = execution.run
    assert execution.created
    assert (run.status, run.attempt, run.workflow_version, run.workflow_name) == (RunStatus.PENDING, 1, 1, "wf")
    assert (run.triggered_by, run.request_id, run.input) == ("ada", "req-1", {"ticket": {"id": 1}})
    assert {s.step_id: s.status for s in await harness.queries.steps(run.id)} == {
        "a": StepStatus.PENDING,
        "b": StepStatus.PENDING,
    }
    assert await harness.event_types(run.id) == [EventType.RUN_CREATED]
    [entry] = (await harness.audit.list(AuditQuery(entity_id=run.id))).items
    assert (entry.action, entry.changes) == ("execute", {"status": (None, "pending")})
    [(dispatch, sent_at)] = harness.store.outbox.values()
    assert (dispatch.kind, dispatch.run_id, dispatch.request_id, sent_at) == (DispatchKind.START, run.id, "req-1", None)
    assert await harness.dispatcher.next_run() == run.id


@pytest.mark.parametrize(
    ("run_input", "locs"),
    [
        ({}, [("input",)]),
        ({"ticket": {"id": "seven"}}, [("input", "ticket", "id")]),
        ({"ticket": []}, [("input", "ticket")]),
    ],
)
async def test_an_input_that_breaks_the_input_schema_is_refused_where_it_is_wrong(
    harness: Harness, workflow_id: WorkflowId, run_input: object, locs: list[tuple[str, ...]]
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await harness.execute(ExecuteWorkflow(workflow_id, run_input))

    assert [error.loc for error in raised.value.errors] == locs
    assert {error.type for error in raised.value.errors} == {"json_schema"}
    assert harness.store.runs == {}


async def test_an_input_schema_that_cannot_be_applied_is_a_conflict_not_a_crash(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"), input_schema={"properties": {"x": {"$ref": "#/$defs/missing"}}})

    with pytest.raises(Conflict, match="input_schema cannot be applied"):
        await harness.start(saved.workflow_id, {"x": 1})
    assert harness.store.runs == {}


async def test_a_run_uses_the_latest_version_unless_one_is_chosen(harness: Harness, workflow_id: WorkflowId) -> None:
    await harness.catalog.update(workflow_id, SaveWorkflow(definition(step("only")), {}))

    latest = await harness.start(workflow_id)
    chosen = await harness.start(workflow_id, {"ticket": {}}, version=1)

    assert (latest.workflow_version, chosen.workflow_version) == (2, 1)
    assert [s.step_id for s in await harness.queries.steps(latest.id)] == ["only"]
    for missing in (0, 3):
        with pytest.raises(NotFound):
            await harness.start(workflow_id, version=missing)


async def test_the_same_idempotency_key_returns_the_first_run(harness: Harness, workflow_id: WorkflowId) -> None:
    body = {"ticket": {"id": 1}}
    first = await harness.execute(ExecuteWorkflow(workflow_id, body, idempotency_key="k-1"))

    again = await harness.execute(ExecuteWorkflow(workflow_id, body, idempotency_key="k-1"))
    pinned = await harness.execute(ExecuteWorkflow(workflow_id, body, version=1, idempotency_key="k-1"))

    assert (again.run, again.created, pinned.run) == (first.run, False, first.run)
    assert len(harness.store.runs) == 1
    assert len(harness.store.outbox) == 1


async def test_concurrent_executes_with_one_key_make_one_run(harness: Harness, workflow_id: WorkflowId) -> None:
    command = ExecuteWorkflow(workflow_id, {"ticket": {}}, idempotency_key="k-1")

    executions = await asyncio.gather(*(harness.execute(command) for _ in range(5)))

    assert len({execution.run.id for execution in executions}) == 1
    assert sum(execution.created for execution in executions) == 1
    assert len(harness.store.runs) == 1


@pytest.mark.parametrize(("run_input", "version"), [({"ticket": {"id": 2}}, 1), ({"ticket": {"id": 1}}, 2)])
async def test_the_same_key_with_another_body_is_refused(
    harness: Harness, workflow_id: WorkflowId, run_input: dict[str, object], version: int
) -> None:
    await harness.catalog.update(workflow_id, SaveWorkflow(definition(step("a")), {}))
    await harness.execute(ExecuteWorkflow(workflow_id, {"ticket": {"id": 1}}, version=1, idempotency_key="k-1"))

    with pytest.raises(InvalidInput) as raised:
        await harness.execute(ExecuteWorkflow(workflow_id, run_input, version=version, idempotency_key="k-1"))

    assert [(e.loc, e.type) for e in raised.value.errors] == [(("header", "Idempotency-Key"), "idempotency_key_reused")]
    assert len(harness.store.runs) == 1


async def test_an_idempotency_key_belongs_to_one_workflow(harness: Harness, workflow_id: WorkflowId) -> None:
    other = await harness.workflow(step("a"), name="other")

    first = await harness.execute(ExecuteWorkflow(workflow_id, {"ticket": {}}, idempotency_key="k-1"))
    second = await harness.execute(ExecuteWorkflow(other.workflow_id, {"ticket": {}}, idempotency_key="k-1"))

    assert second.created
    assert second.run.id != first.run.id


async def test_inactive_and_deleted_workflows_do_not_execute(harness: Harness) -> None:
    await harness.agent("echo")
    paused = await harness.workflow(step("a"), name="paused", status=WorkflowStatus.INACTIVE)
    gone = await harness.workflow(step("a"), name="gone")
    await harness.catalog.delete(gone.workflow_id, ADA)

    with pytest.raises(Conflict, match="inactive"):
        await harness.start(paused.workflow_id)
    with pytest.raises(NotFound):
        await harness.start(gone.workflow_id)
    assert harness.store.runs == {}


@attrs.define
class RecordedStarts:
    """`DirectStarts` through units of work, recording what each start answered."""

    through: DirectStarts
    answers: list[bool] = attrs.Factory(list)

    async def start(self, new: NewRun, *, latest_version: int | None) -> bool:
        answer = await self.through.start(new, latest_version=latest_version)
        self.answers.append(answer)
        return answer


@pytest.fixture
def direct(harness: Harness) -> RecordedStarts:
    """The harness's execute with starts in one step (whichever way the harness runs the engine), recorded."""
    recorded = RecordedStarts(TransactionalDirectStarts(harness.services.uow))
    harness.execute = ExecuteWorkflowHandler(harness.services, harness.dispatcher, direct_starts=recorded)
    return recorded


async def test_runs_after_the_first_of_a_version_are_started_in_one_step_and_stored_alike(
    harness: Harness, workflow_id: WorkflowId, direct: RecordedStarts
) -> None:
    first = await harness.execute(ExecuteWorkflow(workflow_id, {"ticket": {"id": 1}}, actor=ADA))
    second = await harness.execute(ExecuteWorkflow(workflow_id, {"ticket": {"id": 2}}, actor=ADA))

    assert direct.answers == [True]
    assert second.created
    assert second.run.input == {"ticket": {"id": 2}}
    assert attrs.evolve(second.run, id=first.run.id, input=first.run.input) == first.run
    assert await harness.event_types(second.run.id) == [EventType.RUN_CREATED]
    assert (await harness.audit.list(AuditQuery(entity_id=second.run.id))).total == 1
    assert [await harness.dispatcher.next_run() for _ in range(2)] == [first.run.id, second.run.id]


async def test_a_version_saved_after_a_run_is_used_by_the_next_one(
    harness: Harness, workflow_id: WorkflowId, direct: RecordedStarts
) -> None:
    await harness.start(workflow_id, {"ticket": {}})
    await harness.catalog.update(workflow_id, SaveWorkflow(definition(step("only")), {}))

    latest = await harness.start(workflow_id, {"ticket": {}})

    assert latest.workflow_version == 2
    assert [s.step_id for s in await harness.queries.steps(latest.id)] == ["only"]
    assert direct.answers == [False]


async def test_a_workflow_deactivated_after_a_run_of_a_chosen_version_refuses_the_next_one(
    harness: Harness, workflow_id: WorkflowId, direct: RecordedStarts
) -> None:
    await harness.start(workflow_id, {"ticket": {}}, version=1)
    paused = definition(step("a"), step("b", "echo", "a"), status=WorkflowStatus.INACTIVE)
    await harness.catalog.update(workflow_id, SaveWorkflow(paused, {}))

    with pytest.raises(Conflict, match="inactive"):
        await harness.start(workflow_id, {"ticket": {}}, version=1)
    assert direct.answers == [False]
    assert len(harness.store.runs) == 1


async def test_a_known_version_still_refuses_an_input_that_breaks_its_schema(
    harness: Harness, workflow_id: WorkflowId, direct: RecordedStarts
) -> None:
    await harness.start(workflow_id, {"ticket": {}})

    with pytest.raises(InvalidInput) as raised:
        await harness.start(workflow_id, {"ticket": {"id": "seven"}})

    assert [error.loc for error in raised.value.errors] == [("input", "ticket", "id")]
    assert direct.answers == []
    assert len(harness.store.runs) == 1


async def test_a_reused_idempotency_key_returns_the_first_run_when_the_version_is_known(
    harness: Harness, workflow_id: WorkflowId, direct: RecordedStarts
) -> None:
    await harness.start(workflow_id, {"ticket": {}})
    first = await harness.execute(ExecuteWorkflow(workflow_id, {"ticket": {"id": 1}}, idempotency_key="k-1"))

    again = await harness.execute(ExecuteWorkflow(workflow_id, {"ticket": {"id": 1}}, idempotency_key="k-1"))

    assert (first.created, again.created, again.run) == (True, False, first.run)
    assert direct.answers == [True, False]
    assert len(harness.store.runs) == 2


async def test_the_least_recently_used_version_is_forgotten_past_the_limit(
    harness: Harness, direct: RecordedStarts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution, "KNOWN_VERSIONS_LIMIT", 2)
    await harness.agent("echo")
    first, second, third = [(await harness.workflow(step("a"), name=name)).workflow_id for name in ("x", "y", "z")]
    await harness.start(first)
    await harness.start(second)
    await harness.start(first)  # directly: the first is now the most recently used

    await harness.start(third)  # the second is forgotten
    await harness.start(first)
    await harness.start(second)

    assert direct.answers == [True, True]


async def test_a_version_with_a_large_input_schema_is_not_remembered(harness: Harness, direct: RecordedStarts) -> None:
    await harness.agent("echo")
    large = {"type": "object", "description": "x" * execution.KNOWN_SCHEMA_CHARACTERS_LIMIT}
    saved = await harness.workflow(step("a"), input_schema=large)

    await harness.start(saved.workflow_id)
    await harness.start(saved.workflow_id)

    assert direct.answers == []
