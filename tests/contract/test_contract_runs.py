"""RunRepository: runs with their steps, idempotency keys, updates, filters, sorting and pages."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from contract.builders import at, run, stored_workflow, workflow
from wfcore.domain.errors import DuplicateIdempotencyKey, NotFound
from wfcore.domain.ids import AgentId, RunId
from wfcore.domain.runs import Run, RunError, RunStatus, StepAttempt, StepError, StepStatus
from wfcore.ports.persistence import Page, RunQuery, Sort
from wfcore.use_cases.common import UnitOfWorkFactory


async def test_a_run_and_its_steps_read_back_unchanged_in_declaration_order(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        stored, steps = run(
            flow,
            input={"ticket": {"id": 7, "tags": ["a", "b"], "ratio": 0.25, "ok": True, "none": None}},
            request_id="req-9",
            idempotency_key="key-1",
        )
        steps = list(reversed(steps))
        await tx.runs.add(stored, steps)
        await tx.commit()
    async with uow() as tx:
        assert await tx.runs.get(stored.id) == stored
        assert await tx.runs.get(stored.id, for_update=True) == stored
        assert await tx.runs.steps(stored.id) == steps


async def test_unknown_runs_are_not_found(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        with pytest.raises(NotFound):
            await tx.runs.get(RunId("0190a8f2-0000-7000-8000-000000000000"))
        with pytest.raises(NotFound):
            await tx.runs.update(run(flow)[0])
        assert await tx.runs.steps(RunId("0190a8f2-0000-7000-8000-000000000000")) == []


async def test_update_writes_the_run_and_only_the_given_steps(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        stored, (first, second) = run(flow)
        await tx.runs.add(stored, [first, second])
        await tx.commit()
    failed = StepError(code="agent_error", message="boom", http_status=500, body="<html>")
    finished = first.to(
        StepStatus.RUNNING, started_at=at(1), agent_id=AgentId("0190a8f2-0000-7000-8000-0000000000aa")
    ).to(
        StepStatus.FAILED,
        finished_at=at(3),
        input={"text": "hello"},
        error=failed,
        attempts=(
            StepAttempt(attempt=1, started_at=at(1), finished_at=at(2), http_status=503, error=failed),
            StepAttempt(attempt=2, started_at=at(2.5), finished_at=at(3), http_status=500, error=failed),
        ),
    )
    ended = stored.start(at=at(1)).fail(error=RunError(code="step_failed", message="boom", step_id="first"), at=at(3))
    async with uow() as tx:
        await tx.runs.update(ended, [finished])
        await tx.commit()
    async with uow() as tx:
        assert await tx.runs.get(stored.id) == ended
        assert await tx.runs.steps(stored.id) == [finished, second]


async def test_succeeded_output_of_any_json_shape_reads_back(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        stored, steps = run(flow)
        await tx.runs.add(stored, steps)
        output = {"list": [1, 2.5, "x", None, {"nested": [True, False]}], "unicode": "héllo ✓ 𝄞", "big": 2**53}
        done = stored.start(at=at(1)).succeed(output=output, at=at(2))
        await tx.runs.update(done, [attrs.evolve(steps[0], output="plain text", status=StepStatus.SUCCEEDED)])
        await tx.commit()
    async with uow() as tx:
        assert (await tx.runs.get(stored.id)).output == output
        assert (await tx.runs.steps(stored.id))[0].output == "plain text"


async def test_idempotency_keys_are_unique_per_workflow(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx, "first")
        other = await stored_workflow(tx, "second")
        original, steps = run(flow, idempotency_key="abc")
        await tx.runs.add(original, steps)
        await tx.runs.add(*run(other, idempotency_key="abc"))
        await tx.runs.add(*run(flow))
        await tx.runs.add(*run(flow))
        with pytest.raises(DuplicateIdempotencyKey):
            await tx.runs.add(*run(flow, idempotency_key="abc"))
        await tx.commit()
    async with uow() as tx:
        assert await tx.runs.find_by_idempotency_key(flow.id, "abc") == original
        assert await tx.runs.find_by_idempotency_key(flow.id, "other") is None
        assert (await tx.runs.list(RunQuery(workflow_id=flow.id))).total == 3


async def test_concurrent_adds_with_one_key_store_one_run(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        await tx.commit()

    async def add() -> bool:
        async with uow() as tx:
            try:
                await tx.runs.add(*run(flow, idempotency_key="same"))
            except DuplicateIdempotencyKey:
                return False
            await asyncio.sleep(0.01)  # hold the transaction open while the others try
            await tx.commit()
            return True

    assert sorted(await asyncio.gather(*(add() for _ in range(8)))) == [False] * 7 + [True]


async def test_list_filters_by_workflow_status_user_and_creation_time(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx, "first")
        other = await stored_workflow(tx, "second")
        runs = {
            "a": run(flow, created=1),
            "b": run(flow, created=2, status=RunStatus.RUNNING, triggered_by="bob"),
            "c": run(other, created=3, status=RunStatus.FAILED),
            "d": run(flow, created=4, status=RunStatus.SUCCEEDED, triggered_by="bob"),
        }
        for stored, steps in runs.values():
            await tx.runs.add(stored, steps)
        await tx.commit()
    names = {stored.id: name for name, (stored, _) in runs.items()}

    async def listed(query: RunQuery) -> list[str]:
        async with uow() as tx:
            return [names[item.id] for item in (await tx.runs.list(query)).items]

    assert await listed(RunQuery()) == ["d", "c", "b", "a"]
    assert await listed(RunQuery(workflow_id=flow.id)) == ["d", "b", "a"]
    assert await listed(RunQuery(statuses=(RunStatus.RUNNING, RunStatus.FAILED))) == ["c", "b"]
    assert await listed(RunQuery(triggered_by="bob", workflow_id=flow.id)) == ["d", "b"]
    assert await listed(RunQuery(created_after=at(2), created_before=at(4))) == ["c", "b"]
    assert await listed(RunQuery(workflow_id=workflow()[0].id)) == []


async def test_list_sorts_with_nulls_last_ascending_and_first_descending(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        never_started, steps = run(flow, created=1)
        await tx.runs.add(never_started, steps)
        late, steps = run(flow, created=2, status=RunStatus.RUNNING, started_at=at(20))
        await tx.runs.add(late, steps)
        early, steps = run(flow, created=3, status=RunStatus.RUNNING, started_at=at(10))
        await tx.runs.add(early, steps)
        await tx.commit()
    async with uow() as tx:
        ascending = await tx.runs.list(RunQuery(sort=Sort("started_at")))
        descending = await tx.runs.list(RunQuery(sort=Sort("started_at", descending=True)))
        oldest_first = await tx.runs.list(RunQuery(sort=Sort("created_at"), limit=2, offset=1))
    assert _ids(ascending) == [early.id, late.id, never_started.id]
    assert _ids(descending) == [never_started.id, late.id, early.id]
    assert (_ids(oldest_first), oldest_first.total) == ([late.id, early.id], 3)


def _ids(page: Page[Run]) -> list[RunId]:
    return [item.id for item in page.items]
