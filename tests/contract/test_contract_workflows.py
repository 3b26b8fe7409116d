"""WorkflowRepository: workflows, immutable versions, live-name uniqueness, soft delete, lists."""

from __future__ import annotations

import attrs
import pytest

from contract.builders import at, version_of, workflow
from wfcore.domain.errors import Conflict, NotFound
from wfcore.domain.ids import WorkflowId
from wfcore.domain.workflows import (
    OnFailure,
    StepDefinition,
    StepRetry,
    Workflow,
    WorkflowDefinition,
    WorkflowStatus,
)
from wfcore.ports.persistence import Page, Sort, WorkflowQuery
from wfcore.use_cases.common import UnitOfWorkFactory


async def test_a_workflow_and_its_version_read_back_unchanged(uow: UnitOfWorkFactory) -> None:
    flow, first = workflow("triage")
    rich = WorkflowDefinition(
        name="triage",
        description="Classify a ticket",
        input_schema={"type": "object", "required": ["ticket"]},
        output={"reply": "{{ steps.reply.output }}"},
        steps=(
            StepDefinition(id="classify", agent="classifier", input={"text": "{{ input.ticket.body }}"}),
            StepDefinition(
                id="reply",
                agent="writer",
                input=["{{ steps.classify.output }}", 3, None, True],
                depends_on=("classify",),
                when="steps.classify.output.kind == 'refund'",
                timeout_ms=60_000,
                retry=StepRetry(max_attempts=5, retry_on_status=(503,)),
                on_failure=OnFailure.CONTINUE,
            ),
        ),
    )
    # Keys deliberately out of alphabetical and length order: the document comes back as saved.
    saved = {"steps": [{"id": "classify", "agent": "classifier"}], "name": "triage", "description": "x", "a": 1}
    first = attrs.evolve(first, definition=rich, document=saved)
    async with uow() as tx:
        await tx.workflows.add(flow, first)
        await tx.commit()
    async with uow() as tx:
        assert await tx.workflows.get(flow.id) == flow
        stored = await tx.workflows.get_version(flow.id, 1)
        assert stored == first
        assert list(stored.document) == ["steps", "name", "description", "a"]


async def test_unknown_workflows_and_versions_are_not_found(uow: UnitOfWorkFactory) -> None:
    flow, first = workflow()
    async with uow() as tx:
        with pytest.raises(NotFound):
            await tx.workflows.get(flow.id)
        await tx.workflows.add(flow, first)
        with pytest.raises(NotFound):
            await tx.workflows.get_version(flow.id, 2)
        with pytest.raises(NotFound):
            await tx.workflows.update(workflow()[0])


async def test_a_live_name_cannot_be_taken_twice(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        await tx.workflows.add(*workflow("triage"))
        with pytest.raises(Conflict):
            await tx.workflows.add(*workflow("triage"))
        await tx.workflows.add(*workflow("other", created=1))
        await tx.commit()
    async with uow() as tx:
        assert _names(await tx.workflows.list(WorkflowQuery())) == ["triage", "other"]


async def test_add_version_moves_the_workflow_and_keeps_earlier_versions(uow: UnitOfWorkFactory) -> None:
    flow, first = workflow("triage")
    async with uow() as tx:
        await tx.workflows.add(flow, first)
        moved = attrs.evolve(flow, latest_version=2, updated_at=at(5))
        second = version_of(moved, 2, step_ids=("only",))
        await tx.workflows.add_version(moved, second)
        await tx.commit()
    async with uow() as tx:
        assert await tx.workflows.get(flow.id) == moved
        assert await tx.workflows.get_version(flow.id, 1) == first
        assert await tx.workflows.get_version(flow.id, 2) == second


async def test_add_version_refuses_an_existing_version_or_a_taken_name(uow: UnitOfWorkFactory) -> None:
    flow, first = workflow("triage")
    async with uow() as tx:
        await tx.workflows.add(flow, first)
        await tx.workflows.add(*workflow("taken"))
        with pytest.raises(Conflict):
            await tx.workflows.add_version(flow, version_of(flow, 1, step_ids=("changed",)))
        renamed = attrs.evolve(flow, name="taken", latest_version=2)
        with pytest.raises(Conflict):
            await tx.workflows.add_version(renamed, version_of(renamed, 2))
        await tx.commit()
    async with uow() as tx:
        assert await tx.workflows.get_version(flow.id, 1) == first
        assert (await tx.workflows.get(flow.id)).latest_version == 1


async def test_a_deleted_workflow_is_hidden_unless_asked_for_and_frees_its_name(uow: UnitOfWorkFactory) -> None:
    flow, first = workflow("triage")
    deleted = attrs.evolve(flow, deleted_at=at(9), updated_at=at(9))
    async with uow() as tx:
        await tx.workflows.add(flow, first)
        await tx.workflows.update(deleted)
        await tx.commit()
    async with uow() as tx:
        with pytest.raises(NotFound):
            await tx.workflows.get(flow.id)
        assert await tx.workflows.get(flow.id, include_deleted=True) == deleted
        assert await tx.workflows.get_version(flow.id, 1) == first
        assert (await tx.workflows.list(WorkflowQuery())).total == 0
        with pytest.raises(NotFound):
            await tx.workflows.update(attrs.evolve(deleted, deleted_at=None))
        await tx.workflows.add(*workflow("triage"))
        await tx.commit()


async def test_update_overwrites_the_workflow_fields(uow: UnitOfWorkFactory) -> None:
    flow, first = workflow()
    inactive = attrs.evolve(flow, status=WorkflowStatus.INACTIVE, updated_at=at(3))
    async with uow() as tx:
        await tx.workflows.add(flow, first)
        await tx.workflows.update(inactive)
        await tx.commit()
    async with uow() as tx:
        assert await tx.workflows.get(flow.id) == inactive


async def test_list_filters_sorts_and_pages(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        await tx.workflows.add(*workflow("Refunds", created=3))
        await tx.workflows.add(*workflow("triage", created=1, status=WorkflowStatus.INACTIVE))
        await tx.workflows.add(*workflow("refund-audit", created=2))
        await tx.workflows.add(*workflow("onboarding", created=4))
        await tx.commit()
    async with uow() as tx:
        assert _names(await tx.workflows.list(WorkflowQuery(sort=Sort("name")))) == [
            "onboarding",
            "refund-audit",
            "Refunds",
            "triage",
        ]
        assert _names(await tx.workflows.list(WorkflowQuery(name_contains="REFUND", sort=Sort("created_at")))) == [
            "refund-audit",
            "Refunds",
        ]
        assert _names(await tx.workflows.list(WorkflowQuery(status="inactive"))) == ["triage"]
        page = await tx.workflows.list(WorkflowQuery(sort=Sort("created_at", descending=True), limit=2, offset=1))
        assert (_names(page), page.total) == (["Refunds", "refund-audit"], 4)


async def test_versions_are_listed_newest_first_in_pages(uow: UnitOfWorkFactory) -> None:
    flow, first = workflow()
    async with uow() as tx:
        await tx.workflows.add(flow, first)
        for number in (2, 3, 4):
            flow = attrs.evolve(flow, latest_version=number)
            await tx.workflows.add_version(flow, version_of(flow, number))
        await tx.commit()
    async with uow() as tx:
        page = await tx.workflows.list_versions(flow.id, limit=2, offset=1)
        assert [version.version for version in page.items] == [3, 2]
        assert (page.total, page.limit, page.offset) == (4, 2, 1)
        everything = await tx.workflows.list_versions(flow.id, limit=10, offset=0)
        assert [version.version for version in everything.items] == [4, 3, 2, 1]


def _names(page: Page[Workflow]) -> list[str]:
    return [item.name for item in page.items]


async def test_a_workflow_is_read_with_its_latest_or_a_chosen_version(uow: UnitOfWorkFactory) -> None:
    flow, first = workflow("triage")
    second = version_of(flow, 2, step_ids=("only",))
    moved = attrs.evolve(flow, latest_version=2)
    async with uow() as tx:
        await tx.workflows.add(flow, first)
        await tx.workflows.add_version(moved, second)
        await tx.commit()
    async with uow() as tx:
        assert await tx.workflows.get_with_version(flow.id) == (moved, second)
        assert await tx.workflows.get_with_version(flow.id, 1) == (moved, first)
        with pytest.raises(NotFound, match="version"):
            await tx.workflows.get_with_version(flow.id, 3)
        for beyond_any_column in (0, -1, 2**31, 2**40):
            with pytest.raises(NotFound, match="version"):
                await tx.workflows.get_with_version(flow.id, beyond_any_column)
            with pytest.raises(NotFound, match="version"):
                await tx.workflows.get_version(flow.id, beyond_any_column)
        with pytest.raises(NotFound, match="workflow"):
            await tx.workflows.get_with_version(WorkflowId("0190a8f2-0000-7000-8000-000000000000"))
