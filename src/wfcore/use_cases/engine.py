"""The engine: drives one run's steps to the end under a lease, the way a worker executes it.

The database is the truth. The engine claims the run (a compare-and-set that bumps the fencing token),
then every write it makes is checked against that token, so a worker that lost its lease cannot write.
Each write is checked against the run row as stored, so a committed cancel request is seen before any
new step starts. Writes of the runs a process executes at the same time share commits (`GroupCommit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs

from wfcore.domain.agents import Agent
from wfcore.domain.errors import InvalidDefinition, LeaseLost
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.ids import RunId, WorkflowId
from wfcore.domain.runs import Run, RunError, RunStatus, StepExecution, StepStatus
from wfcore.domain.workflows import CompiledWorkflow, DefinitionLimits, WorkflowVersion, compile_definition
from wfcore.ports.agents import AgentInvoker
from wfcore.ports.persistence import DirectClaims, ExecutionReads, FencedWrites, UnitOfWork
from wfcore.ports.telemetry import NoTelemetry, Telemetry
from wfcore.use_cases.common import Services
from wfcore.use_cases.execution_reads import agent_references, pick_agent, read_for_execution
from wfcore.use_cases.group_commit import Change, GroupCommit, Mutation
from wfcore.use_cases.step_runner import StepRunner, step_context

RENEWAL_RETRY_SECONDS = 1.0

log = logging.getLogger(__name__)


@attrs.frozen
class EngineSettings:
    owner: str
    lease_seconds: float = 30.0
    max_parallel_steps: int = 32


@attrs.define
class RunEngine:
    """Executes runs. One engine serves a whole worker process; `cancel` reaches the runs it holds."""

    services: Services
    invoker: AgentInvoker
    settings: EngineSettings
    random: Callable[[], float] = random.random
    telemetry: Telemetry = attrs.field(factory=NoTelemetry)
    fenced_writes: FencedWrites | None = None
    direct_claims: DirectClaims | None = None
    _compiled: dict[tuple[WorkflowId, int], CompiledWorkflow | InvalidDefinition] = attrs.field(
        factory=dict, init=False
    )
    _active: dict[RunId, RunExecution] = attrs.field(factory=dict, init=False)
    _checks: set[asyncio.Task[None]] = attrs.field(factory=set, init=False)
    group_commit: GroupCommit = attrs.field(
        default=attrs.Factory(lambda engine: GroupCommit(engine.services, engine.fenced_writes), takes_self=True),
        init=False,
    )

    async def execute(self, run_id: RunId) -> Run | None:
        """Claim the run and drive it to a finished state (or until the lease is lost).

        Returns None when the run is finished already or another worker holds it.
        """
        execution = await self.claim(run_id)
        return await execution.drive() if execution is not None else None

    async def claim(self, run_id: RunId) -> RunExecution | None:
        """Take the run's lease and read what executing it needs.

        The run's start is the drive's first write, which shares a commit with the other runs' writes.
        None when the run is finished or held (here or by another worker).
        """
        if run_id in self._active:
            return None
        now = self.services.clock.now()
        expires_at = now + timedelta(seconds=self.settings.lease_seconds)
        if self.direct_claims is None:
            return await self._claim_in_one_transaction(run_id, now, expires_at)
        return await self._claim_directly(self.direct_claims, run_id, now, expires_at)

    async def _claim_in_one_transaction(
        self, run_id: RunId, now: datetime, expires_at: datetime
    ) -> RunExecution | None:
        execution: RunExecution | None = None
        try:
            async with self.services.uow() as uow:
                run = await uow.runs.claim(run_id, owner=self.settings.owner, now=now, expires_at=expires_at)
                if run is None:
                    return None
                # Held here from now on, so that a cancel arriving before the commit reaches it.
                execution = self._hold(RunExecution(engine=self, run=run))
                workflow = await self.compiled(run, uow)
                execution.load(workflow, await read_for_execution(uow, run_id, agent_references(workflow)))
                await uow.commit()
        except BaseException:
            if execution is not None:
                self.forget(run_id)
            raise
        finally:
            if execution is not None:
                execution.claim_settled.set()
        return execution

    async def _claim_directly(
        self, claims: DirectClaims, run_id: RunId, now: datetime, expires_at: datetime
    ) -> RunExecution | None:
        """The claim committed at once, then the reads. A cancel notice arriving in between finds no execution
        here, but the cancel is stored: the run's first write sees it, and the run is cancelled then."""
        run = await claims.claim(run_id, owner=self.settings.owner, now=now, expires_at=expires_at)
        if run is None:
            return None
        execution = self._hold(RunExecution(engine=self, run=run))
        try:
            workflow = await self.compiled(run)
            execution.load(workflow, await claims.execution_reads(run_id, agent_references(workflow)))
        except BaseException:
            self.forget(run_id)
            # The claim is committed: give the lease back, even when cancelled, or the run waits for it to expire.
            await asyncio.shield(execution.release())
            raise
        finally:
            execution.claim_settled.set()
        return execution

    def cancel(self, run_id: RunId) -> asyncio.Task[None] | None:
        """A notice that a cancel of the run was committed: abort it here if it holds the run and, as stored,
        the run has a cancel request (a notice can arrive late, after a retry started a new attempt).

        Returns the task checking the run, or None when the run is not held here.
        """
        execution = self._active.get(run_id)
        if execution is None:
            return None
        check = asyncio.create_task(execution.abort_if_cancelled())
        self._checks.add(check)
        check.add_done_callback(self._checks.discard)
        return check

    async def holds(self, run_id: RunId) -> bool:
        """Whether this engine is executing the run, once a claim of it under way here committed or failed."""
        execution = self._active.get(run_id)
        if execution is None:
            return False
        await execution.claim_settled.wait()
        return self._active.get(run_id) is execution

    def _hold(self, execution: RunExecution) -> RunExecution:
        self._active[execution.run.id] = execution
        self.telemetry.executing(self.active_runs)
        return execution

    def forget(self, run_id: RunId) -> None:
        if self._active.pop(run_id, None) is not None:
            self.telemetry.executing(self.active_runs)

    @property
    def active_runs(self) -> int:
        return len(self._active)

    async def compiled(self, run: Run, uow: UnitOfWork | None = None) -> CompiledWorkflow | InvalidDefinition:
        """The run's workflow version compiled, or why it cannot run (saved before a stricter rule existed).

        Read through `uow`, or a unit of work of its own, the first time only: a version never changes.
        """
        key = (run.workflow_id, run.workflow_version)
        if key not in self._compiled:
            stored = await self._version(key, uow)
            # The step cap was applied when this version was saved; a cap set differently since must not stop its runs.
            limits = DefinitionLimits(max_steps=len(stored.definition.steps))
            try:
                self._compiled[key] = compile_definition(stored.definition, limits)
            except InvalidDefinition as invalid:
                self._compiled[key] = invalid
        return self._compiled[key]

    async def _version(self, key: tuple[WorkflowId, int], uow: UnitOfWork | None) -> WorkflowVersion:
        if uow is not None:
            return await uow.workflows.get_version(*key)
        async with self.services.uow() as own:
            return await own.workflows.get_version(*key)


@attrs.define
class RunExecution:
    engine: RunEngine
    run: Run
    steps: dict[str, StepExecution] = attrs.field(factory=dict)
    workflow: CompiledWorkflow | None = None
    agents: dict[str, Agent | None] = attrs.field(factory=dict)
    unrunnable: InvalidDefinition | None = None
    in_flight: dict[str, asyncio.Task[StepExecution]] = attrs.field(factory=dict)
    aborted: asyncio.Event = attrs.field(factory=asyncio.Event)
    claim_settled: asyncio.Event = attrs.field(factory=asyncio.Event)

    @property
    def services(self) -> Services:
        return self.engine.services

    async def abort_if_cancelled(self) -> None:
        try:
            async with self.services.uow() as uow:
                stored = await uow.runs.get(self.run.id)
        except Exception:
            log.exception("could not check run %s for a cancel; its lease renewal will", self.run.id)
            return
        if stored.cancel_requested_at is not None:
            self.abort()

    def abort(self) -> None:
        self.aborted.set()
        for task in self.in_flight.values():
            task.cancel()

    def load(self, workflow: CompiledWorkflow | InvalidDefinition, reads: ExecutionReads) -> None:
        """Take the run's steps, its workflow, and the agent of each step (None for one not found)."""
        self.steps = {step.step_id: step for step in reads.steps}
        if isinstance(workflow, InvalidDefinition):
            self.unrunnable = workflow
            return
        self.workflow = workflow
        self.agents = {
            step_id: pick_agent(reads.agents, step.definition.agent) for step_id, step in workflow.steps.items()
        }

    def committed(self, change: Change) -> None:
        """Take a committed change as the run's state here."""
        run, steps, events = change
        self.run = run
        for step in steps:
            self.steps[step.step_id] = step
        self.engine.telemetry.committed(run, steps, events)

    async def drive(self) -> Run | None:
        """Run the steps to the end; None if the lease was lost on the way (another worker goes on)."""
        try:
            return await self._drive()
        except LeaseLost:
            # This worker was too slow (frozen, cut off from the database) and another one took the run over.
            log.warning(
                "run %s: lease lost (another worker took the run over); stopped here, nothing more written", self.run.id
            )
            return None
        finally:
            self.engine.forget(self.run.id)

    async def _drive(self) -> Run:
        renewal = asyncio.create_task(self._renew_lease())
        abort = asyncio.create_task(self.aborted.wait())  # one for the whole run, not one per wait for its steps
        try:
            await self._advance_with(self._start)
            while not self.run.status.is_finished:
                if not self.in_flight:
                    await self._advance_with(self._advance)
                    continue
                done = await self._wait_for_steps(abort)
                await self._advance_with(functools.partial(self._complete, done=done))
            return self.run
        finally:
            renewal.cancel()
            abort.cancel()
            for task in self.in_flight.values():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await renewal
            if not self.run.status.is_finished:  # a finished run's last write gave the lease back
                await self.release()

    async def _wait_for_steps(self, abort: asyncio.Task[Any]) -> list[StepExecution]:
        """The steps whose calls ended, once one has ended or the run was aborted (`abort` done)."""
        await asyncio.wait([*self.in_flight.values(), abort], return_when=asyncio.FIRST_COMPLETED)
        done: list[StepExecution] = []
        for step_id, task in list(self.in_flight.items()):
            if not task.done():
                continue
            if task.cancelled():
                del self.in_flight[step_id]
                continue
            error = task.exception()
            if error is not None:
                raise error
            # It stays in flight until `_complete` commits it, so no write in between calls its agent again,
            # and a late result leaves the step as committed (running) for the cancel to finish.
            done.append(task.result())
        return done

    @property
    def _token(self) -> int:
        assert self.run.lease is not None
        return self.run.lease.token

    async def write(self, mutate: Mutation) -> None:
        """Fenced: `mutate` the run as stored (token checked) or as committed here if unchanged since, and commit.

        `mutate` must leave this execution's state alone: it may be called twice. The drive's own writes,
        which advance that state, go through `_advance_with`.
        """
        await self._commit(functools.partial(_release_when_finished, mutate))

    async def _advance_with(self, mutate: Mutation) -> None:
        """A write of the drive, whose `mutate` updates the steps and the calls in flight here.

        When its change is computed a second time (the run changed since it was last committed here), the
        steps and calls are first put back as they were before the first time.
        """
        before: tuple[dict[str, StepExecution], dict[str, asyncio.Task[StepExecution]]] | None = None

        def from_state_before(run: Run) -> Change:
            nonlocal before
            if before is None:
                before = dict(self.steps), dict(self.in_flight)
            else:
                self.steps, self.in_flight = dict(before[0]), dict(before[1])
            return _release_when_finished(mutate, run)

        await self._commit(from_state_before)

    async def _commit(self, mutate: Mutation) -> None:
        self.committed(await self.engine.group_commit.write(self.run.id, self._token, mutate, expected=self.run))
        self._launch_started()

    def _fail_unrunnable(self, invalid: InvalidDefinition, run: Run) -> Change:
        if run.status.is_finished:  # cancelled between its claim and its start
            return run, [], []
        now = self.services.clock.now()
        problems = "; ".join(f"{'.'.join(map(str, error.loc))}: {error.msg}" for error in invalid.errors[:5])
        error = RunError(code="invalid_definition", message=f"the workflow version cannot run: {problems}")
        started = run.start(at=now) if run.status is RunStatus.PENDING else run
        cancelled = [
            step.to(StepStatus.CANCELLED, finished_at=now)
            for step in self.steps.values()
            if not step.status.is_finished
        ]
        event = RunEvent(run_id=run.id, type=EventType.RUN_FAILED, at=now, data={"code": error.code})
        return started.fail(error=error, at=now), cancelled, [event]

    def _start(self, run: Run) -> Change:
        if self.unrunnable is not None:  # fail the run rather than retry it forever
            return self._fail_unrunnable(self.unrunnable, run)
        return self._begin(run)

    def _begin(self, run: Run) -> Change:
        """Start the run (or take it over from a worker that died: its running steps start again), then advance."""
        now = self.services.clock.now()
        begun: list[RunEvent] = []
        if run.status is RunStatus.PENDING:
            data = {"attempt": run.attempt, "worker": self.engine.settings.owner}
            begun.append(RunEvent(run_id=run.id, type=EventType.RUN_STARTED, at=now, data=data))
            run = run.start(at=now)
        restarted = {
            step.step_id: step.to(StepStatus.PENDING)
            for step in self.steps.values()
            if step.status is StepStatus.RUNNING
        }
        self.steps.update(restarted)
        advanced, changed, events = self._advance(run)
        restarted.update({step.step_id: step for step in changed})
        return advanced, list(restarted.values()), begun + events

    def _advance(self, run: Run) -> Change:
        """Start every step that is ready, skip those that must be skipped, or finish the run."""
        if run.cancel_requested_at is not None or self.aborted.is_set():
            return self._finish_cancelled(run)
        assert self.workflow is not None
        now = self.services.clock.now()
        changed: list[StepExecution] = []
        events: list[RunEvent] = []
        progressing = True
        while progressing:
            progressing = False
            for step_id in self._ready():
                step = self._decide(step_id, run, now)
                self.steps[step_id] = step
                changed.append(step)
                events.append(step_event(step, now))
                if step.status is StepStatus.FAILED:
                    failure = self._failure(run, step, now)
                    if failure is not None:
                        return failure[0], changed + failure[1], events + failure[2]
                if step.status is not StepStatus.RUNNING:
                    progressing = True
        if all(step.status.is_finished for step in self.steps.values()):
            finished, finish_events = self._finish(run, now)
            return finished, changed, events + finish_events
        if not changed and not self.in_flight and not self._started():
            error = RunError(code="internal", message="no step can start and none is running")
            return (
                run.fail(error=error, at=now),
                [],
                [RunEvent(run_id=run.id, type=EventType.RUN_FAILED, at=now)],
            )
        return run, changed, events

    def _ready(self) -> list[str]:
        assert self.workflow is not None
        ready: list[str] = []
        running = sum(1 for step in self.steps.values() if step.status is StepStatus.RUNNING)
        limit = self.engine.settings.max_parallel_steps - running
        for step_id, step in self.workflow.steps.items():
            if len(ready) >= limit:
                break
            if self.steps[step_id].status is not StepStatus.PENDING:
                continue
            if all(self.steps[dep].status.is_finished for dep in step.definition.depends_on):
                ready.append(step_id)
        return ready

    def _decide(self, step_id: str, run: Run, now: Any) -> StepExecution:
        assert self.workflow is not None
        compiled = self.workflow.steps[step_id]
        step = self.steps[step_id]
        deps = compiled.definition.depends_on
        if deps and all(self.steps[dep].status is StepStatus.SKIPPED for dep in deps):
            return step.to(StepStatus.SKIPPED, finished_at=now)
        context = step_context(run, self.steps)
        runner = StepRunner(execution=self, compiled=compiled)
        return runner.prepare(step, context, now)

    def _started(self) -> list[StepExecution]:
        return [s for s in self.steps.values() if s.status is StepStatus.RUNNING and s.step_id not in self.in_flight]

    def _launch_started(self) -> None:
        """Call the agents of steps whose start is now committed; never before, so a cancel wins."""
        if self.workflow is None or self.run.status is not RunStatus.RUNNING or self.aborted.is_set():
            return
        for step in self._started():
            runner = StepRunner(execution=self, compiled=self.workflow.steps[step.step_id])
            self.in_flight[step.step_id] = asyncio.create_task(runner.call(self.run, step))

    def _complete(self, run: Run, done: list[StepExecution]) -> Change:
        now = self.services.clock.now()
        if run.status.is_finished or run.cancel_requested_at is not None or self.aborted.is_set():
            late = [
                RunEvent(
                    run_id=run.id,
                    type=EventType.LATE_RESULT_IGNORED,
                    at=now,
                    step_id=step.step_id,
                    data={"status": step.status.value},
                )
                for step in done
            ]
            cancelled, steps, events = self._finish_cancelled(run)
            return cancelled, steps, late + events
        events = [step_event(step, now) for step in done]
        for step in done:
            del self.in_flight[step.step_id]
            self.steps[step.step_id] = step
        for step in done:
            if step.status is StepStatus.FAILED:
                failure = self._failure(run, step, now)
                if failure is not None:
                    return failure[0], done + failure[1], events + failure[2]
        advanced, started, more_events = self._advance(run)
        return advanced, done + started, events + more_events

    def _failure(self, run: Run, step: StepExecution, now: Any) -> Change | None:
        """The run failing because of `step`, or None when the step's `on_failure` is `continue`."""
        assert self.workflow is not None
        if self.workflow.steps[step.step_id].definition.on_failure == "continue":
            return None
        error = step.error
        message = error.message if error else "the step failed"
        run_error = RunError(code=error.code if error else "step_failed", message=message, step_id=step.step_id)
        cancelled = self._cancel_unfinished(now, exclude=step.step_id)
        failed = run.fail(error=run_error, at=now)
        data = {"code": run_error.code, "message": run_error.message}
        event = RunEvent(run_id=run.id, type=EventType.RUN_FAILED, at=now, step_id=step.step_id, data=data)
        return failed, cancelled, [*(step_event(s, now) for s in cancelled), event]

    def _finish_cancelled(self, run: Run) -> Change:
        now = self.services.clock.now()
        if run.status.is_finished:
            return run, [], []
        cancelled = self._cancel_unfinished(now)
        events = [step_event(step, now) for step in cancelled]
        events.append(RunEvent(run_id=run.id, type=EventType.RUN_CANCELLED, at=now))
        return run.confirm_cancel(at=now), cancelled, events

    def _cancel_unfinished(self, now: Any, exclude: str | None = None) -> list[StepExecution]:
        for task in self.in_flight.values():
            task.cancel()
        self.in_flight.clear()
        return [
            step.to(StepStatus.CANCELLED, finished_at=now)
            for step in self.steps.values()
            if not step.status.is_finished and step.step_id != exclude
        ]

    def _finish(self, run: Run, now: Any) -> tuple[Run, list[RunEvent]]:
        assert self.workflow is not None
        context = step_context(run, self.steps)
        try:
            if self.workflow.output is not None:
                output = self.workflow.output.render(context)
            else:
                output = {step_id: self.steps[step_id].output for step_id in self.workflow.sinks}
        except Exception as error:
            run_error = RunError(code="output_error", message=f"the output template failed: {error}")
            event = RunEvent(run_id=run.id, type=EventType.RUN_FAILED, at=now, data={"code": "output_error"})
            return run.fail(error=run_error, at=now), [event]
        return run.succeed(output=output, at=now), [RunEvent(run_id=run.id, type=EventType.RUN_SUCCEEDED, at=now)]

    async def _renew_lease(self) -> None:
        """Renew the lease every third of its length until the drive ends; a failed renewal is tried again
        a second later (the lease still has most of its length to run), so a passing database error does
        not let the lease lapse while the run's calls go on."""
        interval = self.engine.settings.lease_seconds / 3

        def next_renewal() -> float:
            # Runs claimed together renew together: up to a quarter earlier spreads their renewals out.
            return interval * (0.75 + 0.25 * self.engine.random())

        delay = next_renewal()
        while True:
            await self.services.clock.sleep(delay)
            expires = self.services.clock.now() + timedelta(seconds=self.engine.settings.lease_seconds)
            try:
                async with self.services.uow() as uow:
                    held = await uow.runs.renew(self.run.id, token=self._token, expires_at=expires)
                    current = await uow.runs.get(self.run.id) if held else None
                    await uow.commit()
            except Exception as error:
                log.warning("could not renew the lease of run %s (%s); trying again", self.run.id, error)
                delay = min(interval, RENEWAL_RETRY_SECONDS)
                continue
            delay = next_renewal()
            if not held:
                self.abort()
                return
            if current is not None and current.cancel_requested_at is not None:
                self.abort()

    async def release(self) -> None:
        """Give the lease back, if the database can be reached; else it expires, and a sweep takes the run."""
        try:
            async with self.services.uow() as uow:
                await uow.runs.release(self.run.id, token=self._token)
                await uow.commit()
        except Exception as error:
            log.warning("could not give back the lease of run %s (%s); it will expire", self.run.id, error)


def _release_when_finished(mutate: Mutation, stored: Run) -> Change:
    """The write that finishes a run also gives its lease back: one transaction fewer per run."""
    run, steps, events = mutate(stored)
    if run.status.is_finished and run.lease is not None:
        run = attrs.evolve(run, lease=run.lease.released())
    return run, steps, events


def step_event(step: StepExecution, now: Any) -> RunEvent:
    kind = {
        StepStatus.RUNNING: EventType.STEP_STARTED,
        StepStatus.SUCCEEDED: EventType.STEP_SUCCEEDED,
        StepStatus.FAILED: EventType.STEP_FAILED,
        StepStatus.SKIPPED: EventType.STEP_SKIPPED,
        StepStatus.CANCELLED: EventType.STEP_CANCELLED,
    }[step.status]
    data: dict[str, Any] = {}
    if step.error is not None:
        data = {"code": step.error.code, "message": step.error.message}
    return RunEvent(run_id=step.run_id, type=kind, at=now, step_id=step.step_id, data=data)
