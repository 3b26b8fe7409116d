"""The workflow catalog use cases: versions, reads, deletion and validation against the registry."""

from __future__ import annotations

import pytest

from unit.definitions import definition, step
from unit.harness import ADA, Harness
from wfcore.domain.agents import AgentStatus
from wfcore.domain.errors import Conflict, InvalidDefinition, NotFound
from wfcore.domain.ids import WorkflowId
from wfcore.domain.workflows import WorkflowStatus
from wfcore.ports.persistence import AuditQuery, Sort, WorkflowQuery
from wfcore.use_cases.agents import UpdateAgent
from wfcore.use_cases.workflows import PlannedStep, SaveWorkflow


async def test_create_stores_version_1_exactly_as_saved(harness: Harness) -> None:
    await harness.agent("echo")
    document = {"name": "wf", "steps": [{"id": "a", "agent": "echo", "extra": ["kept", "as", "is"]}]}

    saved = await harness.catalog.create(SaveWorkflow(definition(step("a")), document, ADA))

    workflow, version = await harness.catalog.get(saved.workflow_id)
    assert (workflow.name, workflow.latest_version, workflow.created_by, workflow.status) == (
        "wf",
        1,
        "ada",
        WorkflowStatus.ACTIVE,
    )
    assert (version.version, version.document, version.definition) == (1, document, definition(step("a")))
    [entry] = (await harness.audit.list(AuditQuery(entity_id=saved.workflow_id))).items
    assert (entry.action, entry.user_id, entry.changes["name"]) == ("create", "ada", (None, "wf"))


async def test_unknown_and_inactive_agents_are_reported_at_their_step(harness: Harness) -> None:
    await harness.agent("echo")
    await harness.agent("idle", status=AgentStatus.INACTIVE)

    with pytest.raises(InvalidDefinition) as raised:
        await harness.workflow(step("a"), step("b", "ghost"), step("c", "idle"), step("d", "ghost"))

    assert [(e.loc, e.type) for e in raised.value.errors] == [
        (("steps", 1, "agent"), "unknown_agent"),
        (("steps", 2, "agent"), "inactive_agent"),
        (("steps", 3, "agent"), "unknown_agent"),
    ]
    assert "agent 'idle' is inactive; activate it or choose another agent" in raised.value.errors[1].msg
    assert harness.store.workflows == {}


async def test_a_step_may_name_its_agent_by_id(harness: Harness) -> None:
    agent = await harness.agent("echo")

    report = await harness.catalog.validate(definition(step("a", agent.id)))

    assert report.levels == ((PlannedStep(step_id="a", agent_id=agent.id, agent_name="echo"),),)


async def test_names_are_unique_among_live_workflows(harness: Harness) -> None:
    await harness.agent("echo")
    first = await harness.workflow(step("a"))

    with pytest.raises(Conflict, match="a workflow named 'wf' exists already"):
        await harness.workflow(step("a"))
    await harness.catalog.delete(first.workflow_id, ADA)

    assert (await harness.workflow(step("a"))).workflow_id != first.workflow_id


async def test_update_adds_a_version_and_never_changes_earlier_ones(harness: Harness) -> None:
    await harness.agent("echo")
    first = await harness.workflow(step("a"))
    second_definition = definition(step("a"), step("b", "echo", "a"), name="wf-renamed")

    second = await harness.catalog.update(first.workflow_id, SaveWorkflow(second_definition, {"v": 2}, ADA))

    assert second.version == 2
    assert (await harness.catalog.get(first.workflow_id, 1))[1] == first
    workflow, latest = await harness.catalog.get(first.workflow_id)
    assert (latest, workflow.name, workflow.latest_version) == (second, "wf-renamed", 2)
    versions = await harness.catalog.versions(first.workflow_id, limit=10, offset=0)
    assert ([v.version for v in versions.items], versions.total) == ([2, 1], 2)
    entry = (await harness.audit.list(AuditQuery(action="update"))).items[0]
    assert entry.changes["version"] == (1, 2)
    assert entry.changes["v"] == (None, 2)


async def test_an_invalid_update_stores_no_version(harness: Harness) -> None:
    await harness.agent("echo")
    first = await harness.workflow(step("a"))

    with pytest.raises(InvalidDefinition):
        await harness.catalog.update(first.workflow_id, SaveWorkflow(definition(step("a", "ghost")), {}))
    with pytest.raises(InvalidDefinition):
        await harness.catalog.update(first.workflow_id, SaveWorkflow(definition(step("a", "echo", "a")), {}))

    assert (await harness.catalog.get(first.workflow_id))[0].latest_version == 1
    assert len(harness.store.versions) == 1


async def test_reads_of_unknown_workflows_and_versions_are_not_found(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))

    for missing in (0, 2):
        with pytest.raises(NotFound):
            await harness.catalog.get(saved.workflow_id, missing)
    with pytest.raises(NotFound):
        await harness.catalog.update(WorkflowId(harness.services.ids.new_id()), SaveWorkflow(definition(step("a")), {}))


async def test_list_filters_and_sorts(harness: Harness) -> None:
    await harness.agent("echo")
    for name in ("triage", "billing", "Triage-Refunds"):
        await harness.workflow(step("a"), name=name)
        harness.clock.advance(1)
    await harness.workflow(step("a"), name="paused", status=WorkflowStatus.INACTIVE)

    async def names(query: WorkflowQuery) -> list[str]:
        return [workflow.name for workflow in (await harness.catalog.list(query)).items]

    assert await names(WorkflowQuery()) == ["triage", "billing", "Triage-Refunds", "paused"]
    assert await names(WorkflowQuery(name_contains="TRIAGE")) == ["triage", "Triage-Refunds"]
    assert await names(WorkflowQuery(status="inactive")) == ["paused"]
    assert await names(WorkflowQuery(sort=Sort("name", descending=True))) == [
        "Triage-Refunds",
        "triage",
        "paused",
        "billing",
    ]


async def test_delete_hides_the_workflow_but_its_runs_stay_readable(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    run = await harness.start(saved.workflow_id)

    await harness.catalog.delete(saved.workflow_id, ADA)

    with pytest.raises(NotFound):
        await harness.catalog.get(saved.workflow_id)
    with pytest.raises(NotFound):
        await harness.catalog.versions(saved.workflow_id, limit=10, offset=0)
    assert (await harness.catalog.list(WorkflowQuery())).total == 0
    assert (await harness.queries.get(run.id)).id == run.id
    entry = (await harness.audit.list(AuditQuery(action="delete"))).items[0]
    assert (entry.entity_id, entry.changes) == (saved.workflow_id, {"deleted": (False, True)})


async def test_validate_answers_the_plan_and_stores_nothing(harness: Harness) -> None:
    echo = await harness.agent("echo")
    writer = await harness.agent("writer")

    report = await harness.catalog.validate(
        definition(step("a"), step("b", "writer", "a"), step("c", "echo", "a"), step("d", "writer", "b", "c"))
    )

    assert report.valid
    assert [[(s.step_id, s.agent_name, s.agent_id) for s in level] for level in report.levels] == [
        [("a", "echo", echo.id)],
        [("b", "writer", writer.id), ("c", "echo", echo.id)],
        [("d", "writer", writer.id)],
    ]
    assert harness.store.workflows == {}


async def test_validate_reports_definition_errors_and_agents_that_became_inactive(harness: Harness) -> None:
    agent = await harness.agent("echo")
    await harness.registry.update(UpdateAgent(agent.id, {"status": AgentStatus.INACTIVE}))

    with pytest.raises(InvalidDefinition) as raised:
        await harness.catalog.validate(definition(step("a")))
    assert [(e.loc, e.type) for e in raised.value.errors] == [(("steps", 0, "agent"), "inactive_agent")]

    with pytest.raises(InvalidDefinition) as raised:
        await harness.catalog.validate(definition(step("a", "echo", "b"), step("b", "echo", "a")))
    assert raised.value.errors[0].msg == "the dependencies form a cycle: a -> b -> a"
