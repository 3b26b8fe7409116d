"""Leases with fencing tokens, takeover of a run whose worker stopped, and the worker loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import attrs
import pytest

from adapters_memory.system import VirtualClock
from adapters_memory.unit_of_work import MemoryUnitOfWork
from unit.agents_in_process import Flaky, Gate
from unit.definitions import step
from unit.harness import Harness
from wfcore.domain.agents import RetryPolicy
from wfcore.domain.errors import InvalidDefinition, LeaseLost, ServiceUnavailable
from wfcore.domain.events import EventType
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run, RunStatus, StepStatus
from wfcore.domain.workflows import CompiledWorkflow
from wfcore.ports.agents import AgentCall
from wfcore.ports.persistence import UnitOfWork
from wfcore.ports.telemetry import NoTelemetry
from wfcore.use_cases.engine import EngineSettings, RunEngine
from wfcore.use_cases.worker import Worker

LEASE = 30.0


async def gated_workflow(harness: Harness) -> tuple[Gate, RunId]:
    """A run of `x` then `b`, where only the first call of `b` waits on the gate."""
    gate = Gate()

    async def first_call_waits(call: AgentCall) -> Any:
        return await gate(call) if len(harness.calls("b")) == 1 else call.input

    await harness.agent("echo")
    await harness.agent("waits", first_call_waits)
    saved = await harness.workflow(step("x"), step("b", "waits", "x", input="{{ steps.x.output }}"))
    return gate, (await harness.start(saved.workflow_id)).id


async def test_a_second_engine_cannot_claim_a_held_run(harness: Harness) -> None:
    gate, run_id = await gated_workflow(harness)
    first = asyncio.create_task(harness.engine("worker-1").execute(run_id))
    await gate.started.wait()

    assert await harness.engine("worker-2").claim(run_id) is None
    assert await harness.engine("worker-2").execute(run_id) is None
    assert await harness.engine("worker-1").claim(run_id) is None, "a lease is not shared by owner name"

    gate.opened.set()
    finished = await first
    assert finished is not None
    assert finished.status is RunStatus.SUCCEEDED
    lease = harness.store.runs[run_id].lease
    assert lease is not None
    assert (lease.owner, lease.token) == (None, 1)


async def test_an_expired_lease_is_taken_over_and_the_stale_worker_cannot_write(harness: Harness) -> None:
    gate, run_id = await gated_workflow(harness)
    # The first worker's clock stands still, like a paused process: it never renews its lease.
    stalled = harness.engine("worker-1", clock=VirtualClock(autojump=False), lease_seconds=LEASE)
    execution = await stalled.claim(run_id)
    assert execution is not None
    stale_drive = asyncio.create_task(execution.drive())
    await gate.started.wait()
    assert await harness.engine("worker-2").claim(run_id) is None

    harness.clock.advance(LEASE + 1)
    taken_over = await harness.engine("worker-2").execute(run_id)

    assert taken_over is not None
    assert taken_over.status is RunStatus.SUCCEEDED
    assert (len(harness.calls("x")), len(harness.calls("b"))) == (1, 2), "x succeeded: it is not called again"
    with pytest.raises(LeaseLost):
        await execution.write(lambda run: (run, [], []))
    gate.opened.set()
    assert await stale_drive is None
    after = harness.store.runs[run_id]
    assert (after.status, after.output, after.finished_at) == (
        taken_over.status,
        taken_over.output,
        taken_over.finished_at,
    )
    assert {s.status for s in harness.store.steps[run_id].values()} == {StepStatus.SUCCEEDED}
    assert (await harness.event_types(run_id)).count(EventType.STEP_SUCCEEDED) == 2
    assert gate.aborted == [], "the stale call finished; only its write was refused"


class HeldRuns(NoTelemetry):
    """Telemetry that keeps how many runs its engine said it held, each time that changed."""

    def __init__(self) -> None:
        self.counts: list[int] = []

    def executing(self, runs: int) -> None:
        self.counts.append(runs)


async def test_an_engine_announces_the_runs_it_holds_a_taken_over_run_included(harness: Harness) -> None:
    gate, run_id = await gated_workflow(harness)
    stalled_held, taker_held = HeldRuns(), HeldRuns()
    stalled = harness.engine("worker-1", clock=VirtualClock(autojump=False), lease_seconds=LEASE)
    stalled.telemetry = stalled_held
    stale_drive = asyncio.create_task(stalled.execute(run_id))
    await gate.started.wait()
    harness.clock.advance(LEASE + 1)

    taker = harness.engine("worker-2")
    taker.telemetry = taker_held
    assert await taker.execute(run_id) is not None
    gate.opened.set()
    assert await stale_drive is None

    assert taker_held.counts == [1, 0]  # not -1: the run's start was written by the other worker
    assert stalled_held.counts == [1, 0]


async def test_a_worker_that_wakes_from_a_backoff_after_losing_its_lease_calls_no_agent(harness: Harness) -> None:
    await harness.agent("flaky", Flaky(failures=1, status=503), retry=RetryPolicy(initial_backoff_ms=2000))
    saved = await harness.workflow(step("a", "flaky"))
    run = await harness.start(saved.workflow_id)
    stalled_clock = VirtualClock(autojump=False)
    execution = await harness.engine("worker-1", clock=stalled_clock, lease_seconds=LEASE).claim(run.id)
    assert execution is not None
    stale_drive = asyncio.create_task(execution.drive())
    await harness.wait_for_event(run.id, EventType.RETRY_SCHEDULED)

    harness.clock.advance(LEASE + 1)
    taken_over = await harness.engine("worker-2").execute(run.id)
    stalled_clock.advance(LEASE + 1)

    assert await stale_drive is None
    assert taken_over is not None
    assert taken_over.status is RunStatus.SUCCEEDED
    assert len(harness.calls("a")) == 2, "the step succeeded under worker-2: worker-1 must not call it again"


async def test_a_worker_runs_what_it_is_offered_once(harness: Harness) -> None:
    gate, run_id = await gated_workflow(harness)
    worker = Worker(harness.engine("worker-1"))

    assert await worker.offer(run_id)
    assert not await worker.offer(run_id), "a duplicate delivery is not run twice"
    assert worker.in_flight == 1
    gate.opened.set()
    await worker.stop(grace_seconds=5)

    assert harness.store.runs[run_id].status is RunStatus.SUCCEEDED
    assert not await worker.offer(run_id)
    assert worker.in_flight == 0


async def test_a_stopped_worker_takes_nothing(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    run = await harness.start(saved.workflow_id)
    worker = Worker(harness.engine())

    await worker.stop(grace_seconds=1)

    assert not await worker.offer(run.id)
    assert await worker.sweep_once() == 0
    assert harness.store.runs[run.id].status is RunStatus.PENDING


async def test_a_sweep_finds_runs_whose_notification_was_lost(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    runs = [await harness.start(saved.workflow_id) for _ in range(3)]
    worker = Worker(harness.engine(), concurrency=2)

    taken = await worker.sweep_once()
    await worker.stop(grace_seconds=5)

    assert taken == 3
    assert {harness.store.runs[run.id].status for run in runs} == {RunStatus.SUCCEEDED}


async def test_a_sweep_takes_over_a_run_whose_worker_died_once_its_lease_expired(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    run = await harness.start(saved.workflow_id)
    assert await harness.engine("dead-worker", lease_seconds=LEASE).claim(run.id) is not None
    worker = Worker(harness.engine("worker-2"))

    assert await worker.sweep_once() == 0
    harness.clock.advance(LEASE)
    assert await worker.sweep_once() == 1
    await worker.stop(grace_seconds=5)

    assert harness.store.runs[run.id].status is RunStatus.SUCCEEDED


async def test_a_run_abandoned_at_stop_is_released_and_resumed_by_another_worker(harness: Harness) -> None:
    gate, run_id = await gated_workflow(harness)
    first = Worker(harness.engine("worker-1"))
    await first.offer(run_id)
    await gate.started.wait()

    await first.stop(grace_seconds=0)

    abandoned = harness.store.runs[run_id]
    assert abandoned.status is RunStatus.RUNNING
    assert abandoned.lease is not None
    assert abandoned.lease.owner is None
    assert gate.aborted == ["b"]
    second = Worker(harness.engine("worker-2"))
    assert await second.sweep_once() == 1
    await second.stop(grace_seconds=5)
    assert harness.store.runs[run_id].status is RunStatus.SUCCEEDED
    assert (len(harness.calls("x")), len(harness.calls("b"))) == (1, 2)


async def test_offer_waits_for_a_free_slot(harness: Harness) -> None:
    gate, run_id = await gated_workflow(harness)
    other = await harness.start(harness.store.runs[run_id].workflow_id)
    worker = Worker(harness.engine(), concurrency=1)
    await worker.offer(run_id)
    await gate.started.wait()

    waiting = asyncio.create_task(worker.offer(other.id))
    await asyncio.sleep(0)
    assert not waiting.done()
    gate.opened.set()

    assert await waiting
    await worker.stop(grace_seconds=5)
    assert harness.store.runs[other.id].status is RunStatus.SUCCEEDED


async def test_an_offer_during_a_claim_under_way_here_waits_for_it_and_takes_the_run_if_it_failed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    run = await harness.start(saved.workflow_id)
    worker = Worker(harness.engine())
    release, failures, compiled = asyncio.Event(), [RuntimeError("the database went away")], RunEngine.compiled

    async def compiled_failing_once(
        engine: RunEngine, run: Run, uow: UnitOfWork | None = None
    ) -> CompiledWorkflow | InvalidDefinition:
        if failures:
            await release.wait()
            raise failures.pop()
        return await compiled(engine, run, uow)

    monkeypatch.setattr(RunEngine, "compiled", compiled_failing_once)
    first = asyncio.create_task(worker.offer(run.id))
    await asyncio.sleep(0.01)
    duplicate = asyncio.create_task(worker.offer(run.id))
    await asyncio.sleep(0.01)
    assert not duplicate.done(), "the duplicate waits for the claim under way instead of being answered"
    release.set()

    with pytest.raises(RuntimeError):
        await first
    assert await duplicate, "the claim under way failed: the duplicate takes the run"
    await worker.stop(grace_seconds=5)
    assert harness.store.runs[run.id].status is RunStatus.SUCCEEDED


@attrs.define
class FailingFirst:
    """Units of work of which the next `failures` fail at the start, as when the database cannot be reached."""

    harness: Harness
    failures: int = 0

    def __call__(self) -> UnitOfWork:
        if self.failures:
            self.failures -= 1
            raise ServiceUnavailable("the database is unavailable")
        return MemoryUnitOfWork(self.harness.store)


async def test_a_renewal_that_fails_is_tried_again_and_the_lease_is_kept(harness: Harness) -> None:
    clock = VirtualClock(autojump=False)
    gate, run_id = await gated_workflow(harness)
    units_of_work = FailingFirst(harness)
    services = attrs.evolve(harness.services, uow=units_of_work, clock=clock)
    engine = RunEngine(
        services, harness.invoker, EngineSettings(owner="worker-1", lease_seconds=LEASE), random=lambda: 1.0
    )
    drive = asyncio.create_task(engine.execute(run_id))
    await gate.started.wait()

    units_of_work.failures = 1  # the first renewal, at a third of the lease
    for _ in range(int(2 * LEASE)):  # a second at a time, long past the lease without a renewal
        clock.advance(1)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    harness.clock.advance(2 * LEASE)

    assert await harness.engine("worker-2").claim(run_id) is None, "the lease was renewed after the failure"
    gate.opened.set()
    finished = await drive
    assert finished is not None
    assert finished.status is RunStatus.SUCCEEDED
    assert len(harness.calls("b")) == 1


async def test_a_run_stopped_by_an_unreachable_database_is_logged_in_one_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    gate, run_id = await gated_workflow(harness)
    units_of_work = FailingFirst(harness)
    services = attrs.evolve(harness.services, uow=units_of_work)
    worker = Worker(RunEngine(services, harness.invoker, EngineSettings(owner="worker-1", lease_seconds=LEASE)))
    await worker.offer(run_id)
    await gate.started.wait()

    units_of_work.failures = 1_000  # the database is gone when the call's result is to be written
    with caplog.at_level(logging.WARNING, logger="wfcore.use_cases.worker"):
        gate.opened.set()
        await worker.stop(grace_seconds=5)

    [record] = [record for record in caplog.records if record.name == "wfcore.use_cases.worker"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert record.getMessage() == (
        f"run {run_id} stopped: the database is unavailable; it is picked up again by a sweep"
    )
    assert harness.store.runs[run_id].status is RunStatus.RUNNING  # left for a sweep, its progress kept
