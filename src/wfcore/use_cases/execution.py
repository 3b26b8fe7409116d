"""Starting runs: execute a workflow version with an input, at most once per idempotency key."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import attrs
import jsonschema
from referencing.exceptions import Unresolvable

from wfcore.domain.audit import EntityType
from wfcore.domain.errors import Conflict, DuplicateIdempotencyKey, ErrorDetail, InvalidInput
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.ids import RunId, WorkflowId
from wfcore.domain.runs import Run, RunStatus, StepExecution
from wfcore.domain.workflows import WorkflowStatus, WorkflowVersion
from wfcore.ports.dispatch import Dispatch, DispatchKind, RunDispatcher
from wfcore.ports.persistence import DirectStarts, NewRun, UnitOfWork
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


# Versions remembered for starting runs in one step, the least recently used forgotten first; a version
# whose input schema is larger than this (as JSON text) is not remembered, so the memory stays small.
KNOWN_VERSIONS_LIMIT = 128
KNOWN_SCHEMA_CHARACTERS_LIMIT = 16_384


@attrs.frozen
class RunShape:
    """What starting a run of a workflow version needs of the version."""

    workflow_id: WorkflowId
    workflow_name: str
    version: int
    step_ids: tuple[str, ...]
    input_schema: Any

    @classmethod
    def of(cls, version: WorkflowVersion) -> RunShape:
        definition = version.definition
        step_ids = tuple(step.id for step in definition.steps)
        return cls(version.workflow_id, definition.name, version.version, step_ids, definition.input_schema)

    def is_small(self) -> bool:
        return len(json.dumps(self.input_schema)) <= KNOWN_SCHEMA_CHARACTERS_LIMIT


@attrs.define
class ExecuteWorkflowHandler:
    """Creates a run: through a unit of work, or, with `direct_starts`, in one commit without reading first.

    The direct way needs the version the last execute of the same workflow (and version, or latest) read
    through a unit of work; the condition it is stored on makes the database check the rest. Whenever it
    cannot store the run (a new version, an inactive workflow, a used idempotency key) or the input must be
    refused, the unit of work's way decides, with its errors in their order.
    """

    services: Services
    dispatcher: RunDispatcher
    direct_starts: DirectStarts | None = None
    _known_versions: OrderedDict[tuple[WorkflowId, int | None], RunShape] = attrs.field(factory=OrderedDict, init=False)

    async def __call__(self, cmd: ExecuteWorkflow) -> Execution:
        if self.direct_starts is not None:
            started = await self._start_directly(self.direct_starts, cmd)
            if started is not None:
                return started
        for _ in range(3):
            try:
                return await self._execute(cmd)
            except DuplicateIdempotencyKey:
                continue
        raise Conflict("the idempotency key is being used by concurrent requests; retry the request")

    async def _start_directly(self, starts: DirectStarts, cmd: ExecuteWorkflow) -> Execution | None:
        key = (cmd.workflow_id, cmd.version)
        shape = self._known_versions.get(key)
        if shape is None:
            return None
        self._known_versions.move_to_end(key)
        if _input_problem(shape.input_schema, cmd.input) is not None:
            return None
        new = self._new_run(cmd, shape)
        try:
            started = await starts.start(new, latest_version=shape.version if cmd.version is None else None)
        except InvalidInput:  # a value the database cannot store: refused by the other way, after its checks
            return None
        if not started:
            return None
        await self.dispatcher.notify(new.dispatch)
        return Execution(run=new.run, created=True)

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
            problem = _input_problem(version.definition.input_schema, cmd.input)
            if problem is not None:
                raise problem
            shape = RunShape.of(version)
            new = self._new_run(cmd, shape)
            await store_new_run(uow, new)
            await uow.commit()
        if self.direct_starts is not None and shape.is_small():
            self._remember(cmd, shape)
        await self.dispatcher.notify(new.dispatch)
        return Execution(run=new.run, created=True)

    def _new_run(self, cmd: ExecuteWorkflow, shape: RunShape) -> NewRun:
        now = self.services.clock.now()
        run = Run(
            id=RunId(self.services.ids.new_id()),
            workflow_id=shape.workflow_id,
            workflow_name=shape.workflow_name,
            workflow_version=shape.version,
            status=RunStatus.PENDING,
            input=cmd.input,
            triggered_by=cmd.actor.user_id,
            created_at=now,
            request_id=cmd.actor.request_id,
            idempotency_key=cmd.idempotency_key,
        )
        return NewRun(
            run=run,
            steps=[StepExecution(run_id=run.id, step_id=step_id) for step_id in shape.step_ids],
            events=[RunEvent(run_id=run.id, type=EventType.RUN_CREATED, at=now, data={"attempt": 1})],
            audit=audit_entry(
                self.services, EntityType.RUN, run.id, "execute", cmd.actor, {"status": (None, RunStatus.PENDING.value)}
            ),
            dispatch=Dispatch(
                id=self.services.ids.new_id(),
                kind=DispatchKind.START,
                run_id=run.id,
                created_at=now,
                request_id=cmd.actor.request_id,
            ),
        )

    def _remember(self, cmd: ExecuteWorkflow, shape: RunShape) -> None:
        key = (cmd.workflow_id, cmd.version)
        self._known_versions[key] = shape
        self._known_versions.move_to_end(key)
        if len(self._known_versions) > KNOWN_VERSIONS_LIMIT:
            self._known_versions.popitem(last=False)


async def store_new_run(uow: UnitOfWork, new: NewRun) -> None:
    """Write a new run and what goes with it in `uow`, uncommitted."""
    await uow.runs.add(new.run, new.steps)
    await uow.runs.append_events(new.events)
    await uow.audit.append(new.audit)
    await uow.outbox.add(new.dispatch)


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


def _input_problem(schema: Any, value: Any) -> InvalidInput | Conflict | None:
    """Why `value` is refused by the version's input schema, if it is (None without a schema)."""
    if schema is None:
        return None
    validator = jsonschema.validators.validator_for(schema)(schema)
    try:
        errors = sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path))
    except (Unresolvable, RecursionError) as error:
        # A schema can pass the save-time check and still be unusable: a `$ref` to nowhere, or to itself.
        reason = "it refers to itself endlessly" if isinstance(error, RecursionError) else str(error)
        return Conflict(
            f"the workflow's input_schema cannot be applied ({reason}); save a version with a fixed input_schema"
        )
    if not errors:
        return None
    return InvalidInput(
        errors=[
            ErrorDetail(loc=("input", *error.absolute_path), msg=error.message, type="json_schema")
            for error in errors[:50]
        ],
        message="The run input does not match the workflow's input_schema",
    )
