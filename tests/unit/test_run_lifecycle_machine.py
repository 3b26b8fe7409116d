"""A Hypothesis state machine over the run lifecycle, with the guarantees of contract §7 as invariants.

Rules: execute, deliver a run to an engine (again and again: duplicate delivery), agent replies (success,
retryable and final failures), cancel, retry (redrive, optionally from a step), time passing, an engine
stalling (its clock stops, so it never renews its lease) and coming back, and a sweep that takes over runs
whose lease expired. Every engine has its own virtual clock; the world's clock is the harness's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from adapters_memory.agents import AgentFailure
from adapters_memory.system import VirtualClock
from unit.definitions import step
from unit.harness import Harness
from wfcore.domain.agents import RetryPolicy
from wfcore.domain.errors import IllegalTransition
from wfcore.domain.events import EventType
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run, RunStatus, StepStatus
from wfcore.domain.workflows import OnFailure
from wfcore.ports.agents import AgentCall
from wfcore.use_cases.engine import RunEngine, RunExecution
from wfcore.use_cases.runs import CancelRun, RetryRun

ENGINES = 2
LEASE = 30.0
STEP_IDS = ["a", "b", "c", "d"]
OUTCOMES = {"ok": None, "retryable": 503, "final": 400}


@attrs.define
class PendingCall:
    call: AgentCall
    reply: asyncio.Future[Any]


@attrs.define
class Driven:
    engine: int
    execution: RunExecution
    task: asyncio.Task[Run | None]


class RunLifecycle(RuleBasedStateMachine):
    runs = Bundle("runs")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.harness = Harness.build(VirtualClock(autojump=False))
        self.clocks = [VirtualClock(autojump=False) for _ in range(ENGINES)]
        self.engines: list[RunEngine] = [
            self.harness.engine(f"worker-{index}", clock=clock, lease_seconds=LEASE)
            for index, clock in enumerate(self.clocks)
        ]
        self.stalled: set[int] = set()
        self.pending: list[PendingCall] = []
        self.driven: list[Driven] = []
        self.violations: list[str] = []
        self.workflow_id = self.run(self._save_workflow())

    async def _save_workflow(self) -> Any:
        await self.harness.agent("work", self._agent, retry=RetryPolicy(max_attempts=2, initial_backoff_ms=2000))
        saved = await self.harness.workflow(
            step("a", "work"),
            step("b", "work", "a"),
            step("c", "work", "a", on_failure=OnFailure.CONTINUE),
            step("d", "work", "b", "c"),
        )
        return saved.workflow_id

    async def _agent(self, call: AgentCall) -> Any:
        """Checks, at the moment of each call, what the database says, then waits for a `reply` rule."""
        run_attempt = int(call.idempotency_key.rsplit(":", 1)[1])
        async with self.harness.services.uow() as uow:
            run = await uow.runs.get(RunId(call.run_id))
            steps = {s.step_id: s for s in await uow.runs.steps(run.id)}
        if steps[call.step_id].status is StepStatus.SUCCEEDED and run.attempt == run_attempt:
            self.violations.append(f"{call.step_id} of {run.id} was called again after it succeeded")
        if run.status is RunStatus.CANCELLED:
            self.violations.append(f"{call.step_id} of {run.id} was called after the run was cancelled")
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append(PendingCall(call, reply))
        return await reply

    def run(self, work: Any) -> Any:
        """Run `work`, then let every task go as far as it can (until all wait on replies or on time)."""
        result = self.loop.run_until_complete(work)
        self.loop.run_until_complete(self._settle())
        return result

    async def _settle(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(10_000):
            await asyncio.sleep(0)
            # Nothing else is ready to run: every task waits for a reply, a clock, or a lock held by nobody.
            if not loop._ready:  # type: ignore[attr-defined]
                return
        raise AssertionError("the event loop never went idle")

    def teardown(self) -> None:
        self.loop.run_until_complete(self._stop_everything())
        self.loop.close()

    async def _stop_everything(self) -> None:
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Rules.

    @precondition(lambda self: len(self.harness.store.runs) < 3)
    @rule(target=runs, engine=st.integers(0, ENGINES - 1))
    def execute(self, engine: int) -> RunId:
        run: Run = self.run(self.harness.start(self.workflow_id))
        self.deliver(run.id, engine)
        return run.id

    @rule(run_id=runs, engine=st.integers(0, ENGINES - 1))
    def deliver(self, run_id: RunId, engine: int) -> None:
        """What the dispatcher does after execute and retry, and again on a duplicate or late delivery."""
        if engine not in self.stalled:
            self.run(self._deliver(run_id, engine))

    async def _deliver(self, run_id: RunId, engine: int) -> None:
        # Between rules no task holds the store's lock, so nothing changes the lease before the claim.
        previous = self.harness.store.runs[run_id].lease
        execution = await self.engines[engine].claim(run_id)
        if execution is None:
            return
        now = self.clocks[engine].now()
        if previous is not None and previous.owner is not None and previous.expires_at and previous.expires_at > now:
            self.violations.append(f"worker-{engine} took {run_id} from {previous.owner}, whose lease was current")
        self.driven.append(Driven(engine, execution, asyncio.create_task(execution.drive())))

    @precondition(lambda self: any(not pending.reply.done() for pending in self.pending))
    @rule(data=st.data(), outcome=st.sampled_from(sorted(OUTCOMES)))
    def reply(self, data: st.DataObject, outcome: str) -> None:
        waiting = [pending for pending in self.pending if not pending.reply.done()]
        pending = data.draw(st.sampled_from(waiting), label="call")
        status = OUTCOMES[outcome]
        if status is None:
            pending.reply.set_result({"from": pending.call.step_id})
        else:
            pending.reply.set_exception(AgentFailure(status))
        self.run(asyncio.sleep(0))

    @precondition(lambda self: any(not pending.reply.done() for pending in self.pending))
    @rule()
    def every_waiting_agent_succeeds(self) -> None:
        for pending in self.pending:
            if not pending.reply.done():
                pending.reply.set_result({"from": pending.call.step_id})
        self.run(asyncio.sleep(0))

    @rule(run_id=runs)
    def cancel(self, run_id: RunId) -> None:
        try:
            self.run(self.harness.commands.cancel(CancelRun(run_id)))
        except IllegalTransition:
            assert self.harness.store.runs[run_id].status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
        # What every live worker's cancel listener does.
        for index, engine in enumerate(self.engines):
            if index not in self.stalled:
                self.run(cancel_notice(engine, run_id))

    @rule(run_id=runs, from_step=st.none() | st.sampled_from(STEP_IDS), engine=st.integers(0, ENGINES - 1))
    def retry(self, run_id: RunId, from_step: str | None, engine: int) -> None:
        before = self.harness.store.runs[run_id]
        try:
            retried: Run = self.run(self.harness.commands.retry(RetryRun(run_id, from_step=from_step)))
        except IllegalTransition:
            assert before.status in (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.SUCCEEDED)
        else:
            assert (retried.status, retried.attempt) == (RunStatus.PENDING, before.attempt + 1)
            self.deliver(run_id, engine)

    @rule(seconds=st.sampled_from([1.0, 5.0, 11.0, LEASE + 1]))
    def time_passes(self, seconds: float) -> None:
        self.harness.clock.advance(seconds)
        for index, clock in enumerate(self.clocks):
            if index not in self.stalled:
                clock.advance(seconds)
        self.run(asyncio.sleep(0))

    @precondition(lambda self: len(self.stalled) < ENGINES)
    @rule(engine=st.integers(0, ENGINES - 1))
    def stall(self, engine: int) -> None:
        self.stalled.add(engine)

    @precondition(lambda self: not self.stalled)
    @rule(engine=st.integers(0, ENGINES - 1))
    def a_stalled_engine_loses_its_runs_to_another(self, engine: int) -> None:
        self.stall(engine)
        self.time_passes(LEASE + 1)
        self.sweep(1 - engine)

    @precondition(lambda self: bool(self.stalled))
    @rule(data=st.data())
    def come_back(self, data: st.DataObject) -> None:
        engine = data.draw(st.sampled_from(sorted(self.stalled)), label="engine")
        self.stalled.discard(engine)
        clock = self.clocks[engine]
        clock.advance(self.harness.clock.monotonic() - clock.monotonic())
        self.run(asyncio.sleep(0))

    @rule(engine=st.integers(0, ENGINES - 1))
    def sweep(self, engine: int) -> None:
        if engine not in self.stalled:
            self.run(self._sweep(engine))

    async def _sweep(self, engine: int) -> None:
        async with self.harness.services.uow() as uow:
            waiting = await uow.runs.claimable(now=self.clocks[engine].now(), limit=10)
        for run_id in waiting:
            await self._deliver(run_id, engine)

    # Invariants: the guarantees of contract §7.

    @invariant()
    def no_call_of_a_succeeded_step_no_call_after_cancel_no_claim_of_a_held_lease(self) -> None:
        assert self.violations == []

    @invariant()
    def at_most_one_engine_holds_a_run(self) -> None:
        for run_id, run in self.harness.store.runs.items():
            token = run.lease.token if run.lease else None
            holders = [
                d.engine
                for d in self.driven
                if not d.task.done()
                and d.execution.run.id == run_id
                and d.execution.run.lease is not None
                and d.execution.run.lease.token == token
            ]
            assert len(holders) <= 1, f"run {run_id} is held by engines {holders}"

    @invariant()
    def no_step_starts_once_a_cancel_is_committed(self) -> None:
        for run_id in self.harness.store.runs:
            cancelled = False
            for event in self.harness.store.events:
                if event.run_id != run_id:
                    continue
                if event.type in (EventType.CANCEL_REQUESTED, EventType.RUN_CANCELLED):
                    cancelled = True
                elif event.type is EventType.RUN_RETRIED:
                    cancelled = False
                elif event.type is EventType.STEP_STARTED:
                    assert not cancelled, f"step {event.step_id} of {run_id} started after a cancel"

    @invariant()
    def finished_runs_have_every_step_finished(self) -> None:
        for run_id, run in self.harness.store.runs.items():
            if run.status.is_finished:
                steps = self.harness.store.steps[run_id]
                assert all(s.status.is_finished for s in steps.values()), (run.status, steps)

    @invariant()
    def a_run_fails_only_for_a_step_that_failed(self) -> None:
        for run_id, run in self.harness.store.runs.items():
            if run.status is RunStatus.FAILED and run.error is not None and run.error.step_id is not None:
                assert self.harness.store.steps[run_id][run.error.step_id].status is StepStatus.FAILED


RunLifecycle.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRunLifecycle = RunLifecycle.TestCase


async def cancel_notice(engine: RunEngine, run_id: RunId) -> None:
    """Hand `engine` a cancel notice and wait for its check of the run."""
    check = engine.cancel(run_id)
    if check is not None:
        await check
