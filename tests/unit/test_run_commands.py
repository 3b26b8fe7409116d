"""Cancel and retry (redrive) of runs, with the engine executing them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import pytest

from unit.agents_in_process import Flaky, Gate
from unit.definitions import step
from unit.harness import ADA, Harness
from wfcore.domain.agents import RetryPolicy
from wfcore.domain.errors import IllegalTransition, InvalidInput
from wfcore.domain.events import EventType
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run, RunStatus, StepStatus
from wfcore.ports.dispatch import DispatchKind
from wfcore.ports.persistence import AuditQuery
from wfcore.use_cases.engine import RunEngine
from wfcore.use_cases.runs import CancelRun, RetryRun


@attrs.frozen
class GatedRun:
    """A run of `a` (blocked on a gate) then `b`, executing until `a` is in its agent call."""

    gate: Gate
    run_id: RunId
    engine: RunEngine
    execution: asyncio.Task[Run | None]

    @classmethod
    async def start(cls, harness: Harness) -> GatedRun:
        gate = Gate()
        await harness.agent("waits", gate)
        await harness.agent("echo")
        saved = await harness.workflow(step("a", "waits"), step("b", "echo", "a"))
        run = await harness.start(saved.workflow_id)
        engine = harness.engine()
        execution = asyncio.create_task(engine.execute(run.id))
        await gate.started.wait()
        return cls(gate, run.id, engine, execution)

    async def finished(self) -> Run:
        run = await self.execution
        assert run is not None
        return run


async def test_cancelling_a_running_run_aborts_its_call_and_starts_nothing_new(harness: Harness) -> None:
    gated = await GatedRun.start(harness)
    before = harness.clock.monotonic()

    requested = await harness.commands.cancel(CancelRun(gated.run_id, ADA))
    gated.engine.cancel(gated.run_id)
    finished = await gated.finished()

    assert requested.status is RunStatus.RUNNING
    assert requested.cancel_requested_at is not None
    assert (finished.status, finished.cancelled_by) == (RunStatus.CANCELLED, "ada")
    assert finished.cancelled_at == requested.cancel_requested_at
    assert harness.clock.monotonic() == before, "the engine aborted at once, not at a lease renewal"
    assert {s.step_id: s.status for s in (await harness.steps(gated.run_id)).values()} == {
        "a": StepStatus.CANCELLED,
        "b": StepStatus.CANCELLED,
    }
    assert gated.gate.aborted == ["a"]
    assert harness.calls("b") == []
    assert (await harness.event_types(gated.run_id))[-4:] == [
        EventType.CANCEL_REQUESTED,
        EventType.STEP_CANCELLED,
        EventType.STEP_CANCELLED,
        EventType.RUN_CANCELLED,
    ]
    [dispatch] = [d for d, _ in harness.store.outbox.values() if d.kind is DispatchKind.CANCEL]
    assert dispatch.run_id == gated.run_id


async def test_a_committed_cancel_reaches_the_engine_at_its_next_lease_renewal(harness: Harness) -> None:
    gated = await GatedRun.start(harness)

    requested = await harness.commands.cancel(CancelRun(gated.run_id, ADA))
    finished = await gated.finished()

    assert finished.status is RunStatus.CANCELLED
    assert requested.cancel_requested_at is not None
    assert finished.cancelled_at is not None
    assert finished.cancelled_at - requested.cancel_requested_at <= timedelta(seconds=10)
    assert gated.gate.aborted == ["a"]


async def test_a_late_result_is_logged_and_changes_nothing(harness: Harness) -> None:
    gated = await GatedRun.start(harness)

    await harness.commands.cancel(CancelRun(gated.run_id, ADA))
    gated.gate.opened.set()
    finished = await gated.finished()

    assert (finished.status, finished.output) == (RunStatus.CANCELLED, None)
    steps = await harness.steps(gated.run_id)
    assert (steps["a"].status, steps["a"].output) == (StepStatus.CANCELLED, None)
    assert steps["b"].status is StepStatus.CANCELLED
    [late] = [e for e in await harness.queries.events(gated.run_id) if e.type is EventType.LATE_RESULT_IGNORED]
    assert (late.step_id, late.data) == ("a", {"status": "succeeded"})
    assert harness.calls("b") == []


async def test_no_retry_attempt_starts_after_a_cancel_committed_during_the_backoff(harness: Harness) -> None:
    await harness.agent("flaky", Flaky(failures=1, status=503), retry=RetryPolicy(initial_backoff_ms=2000))
    saved = await harness.workflow(step("a", "flaky"))
    run = await harness.start(saved.workflow_id)
    execution = asyncio.create_task(harness.engine().execute(run.id))
    await harness.wait_for_event(run.id, EventType.RETRY_SCHEDULED)

    await harness.commands.cancel(CancelRun(run.id, ADA))
    finished = await execution

    assert finished is not None
    assert finished.status is RunStatus.CANCELLED
    assert len(harness.calls("a")) == 1
    assert (await harness.steps(run.id))["a"].status is StepStatus.CANCELLED


async def test_cancelling_a_pending_run_cancels_it_at_once(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"), step("b", "echo", "a"))
    run = await harness.start(saved.workflow_id)

    cancelled = await harness.commands.cancel(CancelRun(run.id, ADA))

    assert cancelled.status is RunStatus.CANCELLED
    assert {s.status for s in await harness.queries.steps(run.id)} == {StepStatus.CANCELLED}
    assert await harness.engine().execute(run.id) is None
    assert harness.invoker.calls == []
    entry = (await harness.audit.list(AuditQuery(entity_id=run.id, action="cancel"))).items[0]
    assert entry.changes == {"status": ("pending", "cancelled")}


async def test_a_cancel_notice_for_a_run_without_a_cancel_request_aborts_nothing(harness: Harness) -> None:
    # A late notice of an earlier attempt's cancel reaches the worker executing the run's next attempt.
    gated = await GatedRun.start(harness)

    check = gated.engine.cancel(gated.run_id)
    assert check is not None
    await check
    gated.gate.opened.set()
    finished = await gated.finished()

    assert finished.status is RunStatus.SUCCEEDED
    assert gated.gate.aborted == []


async def test_a_run_cancelled_after_it_was_claimed_starts_no_further_step(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"), step("b", "echo", "a"))
    run = await harness.start(saved.workflow_id)
    execution = await harness.engine().claim(run.id)
    assert execution is not None
    assert execution.run.status is RunStatus.PENDING, "the run starts in its drive's first write"

    await harness.commands.cancel(CancelRun(run.id, ADA))
    finished = await execution.drive()

    assert finished is not None
    assert finished.status is RunStatus.CANCELLED
    assert harness.calls("b") == []
    assert {s.step_id: s.status for s in await harness.queries.steps(run.id)} == {
        "a": StepStatus.CANCELLED,
        "b": StepStatus.CANCELLED,
    }


async def test_cancelling_a_cancelled_run_is_a_no_op_and_a_finished_one_a_conflict(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    pending = await harness.start(saved.workflow_id)
    cancelled = await harness.commands.cancel(CancelRun(pending.id, ADA))
    writes = (len(harness.store.events), len(harness.store.audit), len(harness.store.outbox))

    assert await harness.commands.cancel(CancelRun(pending.id, ADA)) == cancelled
    assert (len(harness.store.events), len(harness.store.audit), len(harness.store.outbox)) == writes

    succeeded = await harness.run_to_end(saved.workflow_id)
    with pytest.raises(IllegalTransition):
        await harness.commands.cancel(CancelRun(succeeded.id, ADA))
    assert (await harness.queries.get(succeeded.id)).status is RunStatus.SUCCEEDED


async def failed_run(harness: Harness) -> Run:
    """x and a -> b -> c, where b fails (not retryably) the first time only."""
    await harness.agent("echo")
    await harness.agent("flaky", Flaky(failures=1, status=400))
    saved = await harness.workflow(step("x"), step("a"), step("b", "flaky", "a"), step("c", "echo", "b"))
    finished = await harness.run_to_end(saved.workflow_id)
    assert finished.status is RunStatus.FAILED
    return finished


def call_counts(harness: Harness) -> dict[str, int]:
    return {step_id: len(harness.calls(step_id)) for step_id in ("x", "a", "b", "c")}


async def test_retry_reruns_only_what_did_not_succeed(harness: Harness) -> None:
    failed = await failed_run(harness)

    retried = await harness.commands.retry(RetryRun(failed.id, actor=ADA))

    assert (retried.status, retried.attempt, retried.error) == (RunStatus.PENDING, 2, None)
    steps = await harness.steps(failed.id)
    assert {s.step_id: s.status for s in steps.values()} == {
        "x": StepStatus.SUCCEEDED,
        "a": StepStatus.SUCCEEDED,
        "b": StepStatus.PENDING,
        "c": StepStatus.PENDING,
    }
    entry = (await harness.audit.list(AuditQuery(entity_id=failed.id, action="retry"))).items[0]
    assert entry.changes == {"status": ("failed", "pending"), "attempt": (1, 2)}

    finished = await harness.engine().execute(failed.id)

    assert finished is not None
    assert (finished.status, finished.attempt) == (RunStatus.SUCCEEDED, 2)
    assert call_counts(harness) == {"x": 1, "a": 1, "b": 2, "c": 1}
    assert [call.idempotency_key for call in harness.calls("b")] == [f"{failed.id}:b:1", f"{failed.id}:b:2"]
    assert [call.request_id for call in harness.calls("b")] == [None, "req-1"], "the retry's correlation id"


async def test_retry_from_a_step_reruns_it_and_everything_downstream(harness: Harness) -> None:
    failed = await failed_run(harness)

    await harness.commands.retry(RetryRun(failed.id, from_step="a"))
    finished = await harness.engine().execute(failed.id)

    assert finished is not None
    assert finished.status is RunStatus.SUCCEEDED
    assert call_counts(harness) == {"x": 1, "a": 2, "b": 2, "c": 1}
    [retried] = [e for e in await harness.queries.events(failed.id) if e.type is EventType.RUN_RETRIED]
    assert retried.data == {"attempt": 2, "from_step": "a", "by": "anonymous"}


async def test_a_cancelled_run_can_be_retried(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    run = await harness.start(saved.workflow_id)
    await harness.commands.cancel(CancelRun(run.id, ADA))

    await harness.commands.retry(RetryRun(run.id))
    finished = await harness.engine().execute(run.id)

    assert finished is not None
    assert (finished.status, finished.attempt, finished.cancelled_at) == (RunStatus.SUCCEEDED, 2, None)


async def test_retry_of_a_run_that_did_not_fail_is_a_conflict(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    pending = await harness.start(saved.workflow_id)
    succeeded = await harness.run_to_end(saved.workflow_id)

    for run in (pending, succeeded):
        with pytest.raises(IllegalTransition):
            await harness.commands.retry(RetryRun(run.id))


async def test_retry_from_an_unknown_step_is_invalid(harness: Harness) -> None:
    failed = await failed_run(harness)

    with pytest.raises(InvalidInput) as raised:
        await harness.commands.retry(RetryRun(failed.id, from_step="nope"))

    assert [(e.loc, e.type) for e in raised.value.errors] == [(("from_step",), "unknown_step")]
    assert (await harness.queries.get(failed.id)).status is RunStatus.FAILED


async def test_concurrent_commands_on_one_run_are_serialised(harness: Harness) -> None:
    failed = await failed_run(harness)

    outcomes = await asyncio.gather(
        harness.commands.retry(RetryRun(failed.id)),
        harness.commands.retry(RetryRun(failed.id)),
        return_exceptions=True,
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["IllegalTransition", "Run"]
    assert (await harness.queries.get(failed.id)).attempt == 2
