"""Reading runs, and the commands a user gives a run: cancel and retry (redrive)."""

from __future__ import annotations

import builtins

import attrs

from wfcore.domain.audit import EntityType
from wfcore.domain.errors import ErrorDetail, InvalidInput
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.graph import downstream
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run, RunStatus, StepExecution, StepStatus
from wfcore.ports.dispatch import Dispatch, DispatchKind, RunDispatcher
from wfcore.ports.persistence import Page, RunQuery, UnitOfWork
from wfcore.ports.telemetry import NoTelemetry, Telemetry
from wfcore.use_cases.common import Actor, Services, audit_entry


@attrs.frozen
class CancelRun:
    run_id: RunId
    actor: Actor = Actor()


@attrs.frozen
class RetryRun:
    run_id: RunId
    from_step: str | None = None
    actor: Actor = Actor()


@attrs.define
class RunQueries:
    services: Services

    async def get(self, run_id: RunId) -> Run:
        async with self.services.uow() as uow:
            return await uow.runs.get(run_id)

    async def steps(self, run_id: RunId) -> builtins.list[StepExecution]:
        async with self.services.uow() as uow:
            await uow.runs.get(run_id)
            return await uow.runs.steps(run_id)

    async def list(self, query: RunQuery) -> Page[Run]:
        async with self.services.uow() as uow:
            return await uow.runs.list(query)

    async def events(self, run_id: RunId, *, after_seq: int = 0) -> builtins.list[RunEvent]:
        async with self.services.uow() as uow:
            await uow.runs.get(run_id)
            return await uow.runs.events(run_id, after_seq=after_seq)


@attrs.define
class RunCommands:
    """Cancel and retry. Each locks the run row, so concurrent commands on one run are serialised."""

    services: Services
    dispatcher: RunDispatcher
    telemetry: Telemetry = attrs.field(factory=NoTelemetry)

    async def cancel(self, cmd: CancelRun) -> Run:
        async with self.services.uow() as uow:
            current = await uow.runs.get(cmd.run_id, for_update=True)
            now = self.services.clock.now()
            run = current.request_cancel(by=cmd.actor.user_id, at=now)
            if run == current:
                return run
            events = [RunEvent(run_id=run.id, type=EventType.CANCEL_REQUESTED, at=now, data={"by": cmd.actor.user_id})]
            steps: list[StepExecution] = []
            if run.status is RunStatus.CANCELLED:
                steps = [
                    step.to(StepStatus.CANCELLED, finished_at=now)
                    for step in await uow.runs.steps(run.id)
                    if step.status is StepStatus.PENDING
                ]
                events.append(RunEvent(run_id=run.id, type=EventType.RUN_CANCELLED, at=now))
            await uow.runs.update(run, steps)
            await uow.runs.append_events(events)
            await self._audit(uow, run, "cancel", cmd.actor, current.status, run.status)
            dispatch = await self._dispatch(uow, run, DispatchKind.CANCEL, cmd.actor)
            await uow.commit()
        self.telemetry.committed(run, steps, events)
        await self.dispatcher.notify(dispatch)
        return run

    async def retry(self, cmd: RetryRun) -> Run:
        async with self.services.uow() as uow:
            current = await uow.runs.get(cmd.run_id, for_update=True)
            version = await uow.workflows.get_version(current.workflow_id, current.workflow_version)
            dependencies = {step.id: list(step.depends_on) for step in version.definition.steps}
            if cmd.from_step is not None and cmd.from_step not in dependencies:
                raise InvalidInput(
                    errors=[
                        ErrorDetail(
                            loc=("from_step",),
                            msg=f"run {current.id} has no step {cmd.from_step!r}",
                            type="unknown_step",
                        )
                    ]
                )
            run = current.redrive(request_id=cmd.actor.request_id)
            rerun = downstream(dependencies, cmd.from_step) if cmd.from_step else set()
            steps = [
                step.reset()
                for step in await uow.runs.steps(run.id)
                if step.status is not StepStatus.SUCCEEDED or step.step_id in rerun
            ]
            await uow.runs.update(run, steps)
            now = self.services.clock.now()
            data = {"attempt": run.attempt, "from_step": cmd.from_step, "by": cmd.actor.user_id}
            await uow.runs.append_events([RunEvent(run_id=run.id, type=EventType.RUN_RETRIED, at=now, data=data)])
            await self._audit(uow, run, "retry", cmd.actor, current.status, run.status)
            dispatch = await self._dispatch(uow, run, DispatchKind.START, cmd.actor)
            await uow.commit()
        await self.dispatcher.notify(dispatch)
        return run

    async def _dispatch(self, uow: UnitOfWork, run: Run, kind: DispatchKind, actor: Actor) -> Dispatch:
        dispatch = Dispatch(
            id=self.services.ids.new_id(),
            kind=kind,
            run_id=run.id,
            created_at=self.services.clock.now(),
            request_id=actor.request_id,
        )
        await uow.outbox.add(dispatch)
        return dispatch

    async def _audit(
        self, uow: UnitOfWork, run: Run, action: str, actor: Actor, old: RunStatus, new: RunStatus
    ) -> None:
        changes: dict[str, tuple[object, object]] = {"status": (old.value, new.value)} if old is not new else {}
        if action == "retry":
            changes["attempt"] = (run.attempt - 1, run.attempt)
        await uow.audit.append(audit_entry(self.services, EntityType.RUN, run.id, action, actor, changes))
