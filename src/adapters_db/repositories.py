"""The agent and workflow repositories. Deleted agents and workflows stay as rows but are never read."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from adapters_db import mappers
from adapters_db.paging import fetch_page, live_named, order_by
from adapters_db.tables import agents, workflow_versions, workflows
from adapters_db.transaction import Transaction
from wfcore.domain.agents import Agent, HealthResult
from wfcore.domain.errors import Conflict, NotFound
from wfcore.domain.ids import AgentId, WorkflowId
from wfcore.domain.workflows import Workflow, WorkflowVersion
from wfcore.ports.persistence import AgentQuery, Page, WorkflowQuery
from wfcore.ports.system import SecretBox

_AGENT_LIVE = agents.c.deleted_at.is_(None)
_WORKFLOW_LIVE = workflows.c.deleted_at.is_(None)
# Statements of the hot read paths, built once (SQLAlchemy then reuses their compiled form and cache key).
_SELECT_WORKFLOW = sa.select(workflows).where(workflows.c.id == sa.bindparam("key_id"))
_SELECT_WORKFLOW_VERSION = sa.select(workflow_versions).where(
    workflow_versions.c.workflow_id == sa.bindparam("key_id"),
    workflow_versions.c.version == sa.bindparam("key_version"),
)
# A workflow and one of its versions (the latest when `key_version` is NULL) in one round trip.
_SELECT_WORKFLOW_WITH_VERSION = (
    sa.select(workflows, *(column.label(f"version_{column.name}") for column in workflow_versions.c))
    .join(
        workflow_versions,
        sa.and_(
            workflow_versions.c.workflow_id == workflows.c.id,
            workflow_versions.c.version
            == sa.func.coalesce(sa.bindparam("key_version", type_=sa.Integer()), workflows.c.latest_version),
        ),
    )
    .where(workflows.c.id == sa.bindparam("key_id"), _WORKFLOW_LIVE)
)
# Version numbers a 32-bit integer column holds (PostgreSQL refuses a larger one as a parameter).
_STORABLE_VERSIONS = range(1, 2**31)
_SELECT_AGENT_BY_ID = sa.select(agents).where(agents.c.id == sa.bindparam("key"), _AGENT_LIVE)
_SELECT_AGENT_BY_NAME = sa.select(agents).where(agents.c.name == sa.bindparam("key"), _AGENT_LIVE)


def _sorts(table: sa.Table) -> dict[str, sa.ColumnElement[Any]]:
    """The sort fields of a named table; names sort case-insensitively."""
    return {"name": sa.func.lower(table.c.name), "created_at": table.c.created_at, "updated_at": table.c.updated_at}


_AGENT_SORTS = _sorts(agents)
_WORKFLOW_SORTS = _sorts(workflows)


class SqlAgentRepository:
    """Agents; their secret auth fields are stored only encrypted by `secret_box`."""

    def __init__(self, tx: Transaction, secret_box: SecretBox) -> None:
        self._tx = tx
        self._secret_box = secret_box

    async def add(self, agent: Agent) -> None:
        await self._tx.insert_unique(
            agents, mappers.agent_row(agent, self._secret_box), _name_taken("an agent", agent.name)
        )

    async def get(self, agent_id: AgentId) -> Agent:
        return await self._one(_SELECT_AGENT_BY_ID, agent_id)

    async def get_by_name(self, name: str) -> Agent:
        return await self._one(_SELECT_AGENT_BY_NAME, name)

    async def update(self, agent: Agent) -> None:
        statement = (
            sa.update(agents)
            .where(agents.c.id == agent.id, _AGENT_LIVE)
            .values(mappers.agent_row(agent, self._secret_box))
        )
        result = await self._tx.execute_unique(statement, _name_taken("an agent", agent.name))
        if result.rowcount == 0:
            raise NotFound(entity="agent", entity_id=agent.id)

    async def record_health(self, agent_id: AgentId, result: HealthResult) -> None:
        statement = (
            sa.update(agents)
            .where(agents.c.id == agent_id, _AGENT_LIVE)
            .values(last_health=mappers.health_value(result))
        )
        if (await self._tx.execute(statement)).rowcount == 0:
            raise NotFound(entity="agent", entity_id=agent_id)

    async def list(self, query: AgentQuery) -> Page[Agent]:
        where = live_named(agents, query.status, query.name_contains)
        ordering = order_by(query.sort, _AGENT_SORTS, agents.c.id)
        load = functools.partial(mappers.agent_from_row, secret_box=self._secret_box)
        return await fetch_page(self._tx, agents, where, ordering, query.limit, query.offset, load)

    async def _one(self, query: sa.Select[Any], key: str) -> Agent:
        row = (await self._tx.execute(query, {"key": key})).mappings().one_or_none()
        if row is None:
            raise NotFound(entity="agent", entity_id=key)
        return mappers.agent_from_row(row, self._secret_box)


class SqlWorkflowRepository:
    """Workflows and their immutable versions."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, workflow: Workflow, version: WorkflowVersion) -> None:
        await self._tx.insert_unique(
            workflows, mappers.workflow_row(workflow), _name_taken("a workflow", workflow.name)
        )
        await self._tx.execute(sa.insert(workflow_versions), mappers.version_row(version))

    async def add_version(self, workflow: Workflow, version: WorkflowVersion) -> None:
        taken = Conflict(f"version {version.version} of workflow {workflow.id} exists already; retry")
        await self._tx.insert_unique(workflow_versions, mappers.version_row(version), taken)
        await self._overwrite(workflow, workflows.c.id == workflow.id)

    async def get(
        self, workflow_id: WorkflowId, *, include_deleted: bool = False, for_update: bool = False
    ) -> Workflow:
        query = _SELECT_WORKFLOW
        if not include_deleted:
            query = query.where(_WORKFLOW_LIVE)
        if for_update:
            query = query.with_for_update()
        row = (await self._tx.execute(query, {"key_id": workflow_id})).mappings().one_or_none()
        if row is None:
            raise NotFound(entity="workflow", entity_id=workflow_id)
        return mappers.workflow_from_row(row)

    async def get_version(self, workflow_id: WorkflowId, version: int) -> WorkflowVersion:
        values = {"key_id": workflow_id, "key_version": version}
        row = None
        if version in _STORABLE_VERSIONS:
            row = (await self._tx.execute(_SELECT_WORKFLOW_VERSION, values)).mappings().one_or_none()
        if row is None:
            raise NotFound(entity=f"version of workflow {workflow_id}", entity_id=str(version))
        return mappers.version_from_row(row)

    async def get_with_version(
        self, workflow_id: WorkflowId, version: int | None = None
    ) -> tuple[Workflow, WorkflowVersion]:
        values = {"key_id": workflow_id, "key_version": version}
        row = None
        if version is None or version in _STORABLE_VERSIONS:
            row = (await self._tx.execute(_SELECT_WORKFLOW_WITH_VERSION, values)).mappings().one_or_none()
        if row is None:  # no such workflow, or no such version: say which
            workflow = await self.get(workflow_id)
            return workflow, await self.get_version(
                workflow_id, workflow.latest_version if version is None else version
            )
        stored = {column.name: row[f"version_{column.name}"] for column in workflow_versions.c}
        return mappers.workflow_from_row(row), mappers.version_from_row(stored)

    async def update(self, workflow: Workflow) -> None:
        if await self._overwrite(workflow, sa.and_(workflows.c.id == workflow.id, _WORKFLOW_LIVE)) == 0:
            raise NotFound(entity="workflow", entity_id=workflow.id)

    async def list(self, query: WorkflowQuery) -> Page[Workflow]:
        where = live_named(workflows, query.status, query.name_contains)
        ordering = order_by(query.sort, _WORKFLOW_SORTS, workflows.c.id)
        return await fetch_page(
            self._tx, workflows, where, ordering, query.limit, query.offset, mappers.workflow_from_row
        )

    async def list_versions(self, workflow_id: WorkflowId, *, limit: int, offset: int) -> Page[WorkflowVersion]:
        where = [workflow_versions.c.workflow_id == workflow_id]
        ordering = [workflow_versions.c.version.desc()]
        return await fetch_page(self._tx, workflow_versions, where, ordering, limit, offset, mappers.version_from_row)

    async def _overwrite(self, workflow: Workflow, condition: sa.ColumnElement[bool]) -> int:
        statement = sa.update(workflows).where(condition).values(mappers.workflow_row(workflow))
        result = await self._tx.execute_unique(statement, _name_taken("a workflow", workflow.name))
        return result.rowcount


def _name_taken(kind: str, name: str) -> Conflict:
    return Conflict(f"{kind} named {name!r} exists already; choose another name")
