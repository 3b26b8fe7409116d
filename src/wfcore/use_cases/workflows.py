"""Workflow definition use cases: create, version, read, list, delete, validate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from wfcore.domain.agents import Agent
from wfcore.domain.audit import AuditEntry, EntityType, diff
from wfcore.domain.errors import NotFound, Problems
from wfcore.domain.ids import AgentId, WorkflowId, is_uuid
from wfcore.domain.workflows import (
    CompiledWorkflow,
    DefinitionLimits,
    Workflow,
    WorkflowDefinition,
    WorkflowVersion,
    compile_definition,
)
from wfcore.ports.persistence import AgentRepository, Page, UnitOfWork, WorkflowQuery
from wfcore.use_cases.common import Actor, Services, audit_entry


@attrs.frozen
class SaveWorkflow:
    """A definition and the document it was read from (stored and returned exactly as saved)."""

    definition: WorkflowDefinition
    document: Mapping[str, Any]
    actor: Actor = Actor()


@attrs.frozen
class PlannedStep:
    step_id: str
    agent_id: AgentId
    agent_name: str


@attrs.frozen
class ValidationReport:
    """What `validate` answers: the definition is valid, and the levels of steps run in parallel."""

    valid: bool
    levels: tuple[tuple[PlannedStep, ...], ...]


async def resolve_agent(agents: AgentRepository, reference: str) -> Agent:
    """An agent by id (when `reference` is a UUID) or by name."""
    if is_uuid(reference):
        try:
            return await agents.get(AgentId(reference))
        except NotFound:
            pass
    return await agents.get_by_name(reference)


async def resolve_agents(uow: UnitOfWork, compiled: CompiledWorkflow) -> dict[str, Agent]:
    """The agent of every step, or `InvalidDefinition` naming each unknown or inactive one."""
    problems = Problems()
    found: dict[str, Agent] = {}
    cache: dict[str, Agent | None] = {}
    for index, step in enumerate(compiled.definition.steps):
        if step.agent not in cache:
            try:
                cache[step.agent] = await resolve_agent(uow.agents, step.agent)
            except NotFound:
                cache[step.agent] = None
        agent = cache[step.agent]
        if agent is None:
            problems.add(("steps", index, "agent"), f"unknown agent {step.agent!r}", "unknown_agent")
        elif not agent.is_active:
            problems.add(
                ("steps", index, "agent"),
                f"agent {step.agent!r} is inactive; activate it or choose another agent",
                "inactive_agent",
            )
        else:
            found[step.id] = agent
    problems.raise_invalid_definition()
    return found


def _summary(version: WorkflowVersion) -> dict[str, Any]:
    return dict(version.document)


@attrs.define
class WorkflowCatalog:
    services: Services
    limits: DefinitionLimits = DefinitionLimits()

    async def create(self, cmd: SaveWorkflow) -> WorkflowVersion:
        compiled = compile_definition(cmd.definition, self.limits)
        now = self.services.clock.now()
        workflow_id = WorkflowId(self.services.ids.new_id())
        version = WorkflowVersion(
            workflow_id=workflow_id,
            version=1,
            definition=cmd.definition,
            document=cmd.document,
            created_at=now,
            created_by=cmd.actor.user_id,
        )
        workflow = Workflow(
            id=workflow_id,
            name=cmd.definition.name,
            status=cmd.definition.status,
            latest_version=1,
            created_at=now,
            updated_at=now,
            created_by=cmd.actor.user_id,
        )
        async with self.services.uow() as uow:
            await resolve_agents(uow, compiled)
            await uow.workflows.add(workflow, version)
            await uow.audit.append(self._audit(workflow, "create", cmd.actor, diff({}, _summary(version))))
            await uow.commit()
        return version

    async def update(self, workflow_id: WorkflowId, cmd: SaveWorkflow) -> WorkflowVersion:
        """Store the definition as version N+1; earlier versions never change."""
        compiled = compile_definition(cmd.definition, self.limits)
        async with self.services.uow() as uow:
            # Locked, so that concurrent updates become versions N+1 and N+2 rather than a conflict.
            workflow = await uow.workflows.get(workflow_id, for_update=True)
            previous = await uow.workflows.get_version(workflow_id, workflow.latest_version)
            await resolve_agents(uow, compiled)
            now = self.services.clock.now()
            version = WorkflowVersion(
                workflow_id=workflow_id,
                version=workflow.latest_version + 1,
                definition=cmd.definition,
                document=cmd.document,
                created_at=now,
                created_by=cmd.actor.user_id,
            )
            updated = attrs.evolve(
                workflow,
                name=cmd.definition.name,
                status=cmd.definition.status,
                latest_version=version.version,
                updated_at=now,
            )
            await uow.workflows.add_version(updated, version)
            changes = diff(_summary(previous), _summary(version))
            changes["version"] = (previous.version, version.version)
            await uow.audit.append(self._audit(updated, "update", cmd.actor, changes))
            await uow.commit()
        return version

    async def get(self, workflow_id: WorkflowId, version: int | None = None) -> tuple[Workflow, WorkflowVersion]:
        async with self.services.uow() as uow:
            return await uow.workflows.get_with_version(workflow_id, version)

    async def list(self, query: WorkflowQuery) -> Page[Workflow]:
        async with self.services.uow() as uow:
            return await uow.workflows.list(query)

    async def versions(self, workflow_id: WorkflowId, *, limit: int, offset: int) -> Page[WorkflowVersion]:
        async with self.services.uow() as uow:
            await uow.workflows.get(workflow_id)
            return await uow.workflows.list_versions(workflow_id, limit=limit, offset=offset)

    async def delete(self, workflow_id: WorkflowId, actor: Actor) -> None:
        async with self.services.uow() as uow:
            workflow = await uow.workflows.get(workflow_id)
            now = self.services.clock.now()
            await uow.workflows.update(attrs.evolve(workflow, deleted_at=now, updated_at=now))
            await uow.audit.append(self._audit(workflow, "delete", actor, {"deleted": (False, True)}))
            await uow.commit()

    async def validate(self, definition: WorkflowDefinition) -> ValidationReport:
        """Check a definition as `create` would and plan it, storing nothing."""
        compiled = compile_definition(definition, self.limits)
        async with self.services.uow() as uow:
            agents = await resolve_agents(uow, compiled)
        levels = tuple(
            tuple(PlannedStep(step_id=s, agent_id=agents[s].id, agent_name=agents[s].name) for s in level)
            for level in compiled.levels
        )
        return ValidationReport(valid=True, levels=levels)

    def _audit(self, workflow: Workflow, action: str, actor: Actor, changes: Any) -> AuditEntry:
        return audit_entry(self.services, EntityType.WORKFLOW, workflow.id, action, actor, changes)
