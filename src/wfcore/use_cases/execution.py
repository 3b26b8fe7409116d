"""Starting runs: execute a workflow version with an input, at most once per idempotency key."""

from __future__ import annotations

from typing import Any

import attrs
import jsonschema
from referencing.exceptions import Unresolvable

from wfcore.domain.audit import EntityType
from wfcore.domain.errors import Conflict, DuplicateIdempotencyKey, ErrorDetail, InvalidInput
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.ids import RunId, WorkflowId
from wfcore.domain.runs import Run, RunStatus, StepExecution
from wfcore.domain.workflows import WorkflowStatus
from wfcore.ports.dispatch import Dispatch, DispatchKind, RunDispatcher
from wfcore.use_cases.common import Actor, Services, audit_entry


@attrs.frozen
class ExecuteWorkflow:
    workflow_id: WorkflowId
    input: Any = attrs.field(factory=dict)
    version: int | None = None
    idempotency_key: str | None = None
    actor: Actor = Actor()


@attrs.frozen
class Execution:
    run: Run
    created: bool


@attrs.define
class ExecuteWorkflowHandler:
    services: Services
    dispatcher: RunDispatcher

    async def __call__(self, cmd: ExecuteWorkflow) -> Execution:
        for _ in range(3):
            try:
                return await self._execute(cmd)
            except DuplicateIdempotencyKey:
                continue
        raise Conflict("the idempotency key is being used by concurrent requests; retry the request")

    async def _execute(self, cmd: ExecuteWorkflow) -> Execution:
        async with self.services.uow() as uow:
            if cmd.idempotency_key is not None:
                existing = await uow.runs.find_by_idempotency_key(cmd.workflow_id, cmd.idempotency_key)
                if existing is not None:
                    _check_same_request(existing, cmd)
                    return Execution(run=existing, created=False)
            workflow, version = await uow.workflows.get_with_version(cmd.workflow_id, cmd.version)
            if workflow.status is not WorkflowStatus.ACTIVE:
                raise Conflict(f"workflow {workflow.name!r} is inactive; activate it before executing it")
            if version.definition.input_schema is not None:
                _check_input(version.definition.input_schema, cmd.input)
            now = self.services.clock.now()
            run = Run(
                id=RunId(self.services.ids.new_id()),
                workflow_id=workflow.id,
                workflow_name=version.definition.name,
                workflow_version=version.version,
                status=RunStatus.PENDING,
                input=cmd.input,
                triggered_by=cmd.actor.user_id,
                created_at=now,
                request_id=cmd.actor.request_id,
                idempotency_key=cmd.idempotency_key,
            )
            steps = [StepExecution(run_id=run.id, step_id=step.id) for step in version.definition.steps]
            dispatch = Dispatch(
                id=self.services.ids.new_id(),
                kind=DispatchKind.START,
                run_id=run.id,
                created_at=now,
                request_id=cmd.actor.request_id,
            )
            await uow.runs.add(run, steps)
            await uow.runs.append_events(
                [RunEvent(run_id=run.id, type=EventType.RUN_CREATED, at=now, data={"attempt": 1})]
            )
            await uow.audit.append(
                audit_entry(
                    self.services,
                    EntityType.RUN,
                    run.id,
                    "execute",
                    cmd.actor,
                    {"status": (None, RunStatus.PENDING.value)},
                )
            )
            await uow.outbox.add(dispatch)
            await uow.commit()
        await self.dispatcher.notify(dispatch)
        return Execution(run=run, created=True)


def _check_same_request(existing: Run, cmd: ExecuteWorkflow) -> None:
    same_version = cmd.version is None or cmd.version == existing.workflow_version
    if existing.input != cmd.input or not same_version:
        raise InvalidInput(
            errors=[
                ErrorDetail(
                    loc=("header", "Idempotency-Key"),
                    msg="this key was used with a different request body; use a new key for a new run",
                    type="idempotency_key_reused",
                )
            ],
            message="Idempotency-Key reused with a different body",
        )


def _check_input(schema: Any, value: Any) -> None:
    validator = jsonschema.validators.validator_for(schema)(schema)
    try:
        errors = sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path))
    except (Unresolvable, RecursionError) as error:
        # A schema can pass the save-time check and still be unusable: a `$ref` to nowhere, or to itself.
        reason = "it refers to itself endlessly" if isinstance(error, RecursionError) else str(error)
        raise Conflict(
            f"the workflow's input_schema cannot be applied ({reason}); save a version with a fixed input_schema"
        ) from None
    if errors:
        raise InvalidInput(
            errors=[
                ErrorDetail(loc=("input", *error.absolute_path), msg=error.message, type="json_schema")
                for error in errors[:50]
            ],
            message="The run input does not match the workflow's input_schema",
        )
