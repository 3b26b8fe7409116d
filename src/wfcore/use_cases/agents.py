"""Agent registry use cases."""

from __future__ import annotations

from typing import Any

import attrs

from wfcore.domain.agents import (
    MASK,
    Agent,
    AgentStatus,
    AuthConfig,
    HealthResult,
    NoAuth,
    RetryPolicy,
    default_health_url,
    masked_auth,
)
from wfcore.domain.audit import AuditEntry, EntityType, diff
from wfcore.domain.ids import AgentId
from wfcore.ports.agents import AgentInvoker
from wfcore.ports.persistence import AgentQuery, Page
from wfcore.use_cases.common import Actor, Services, audit_entry


@attrs.frozen
class RegisterAgent:
    name: str
    url: str
    actor: Actor = Actor()
    health_url: str | None = None
    description: str | None = None
    auth: AuthConfig = NoAuth()
    timeout_ms: int = 30_000
    retry: RetryPolicy = RetryPolicy()
    status: AgentStatus = AgentStatus.ACTIVE


@attrs.frozen
class UpdateAgent:
    """Any subset of the writable fields; `changes` maps field names to new values."""

    agent_id: AgentId
    changes: dict[str, Any]
    actor: Actor = Actor()


def audit_view(agent: Agent) -> dict[str, Any]:
    """The fields an audit diff compares, secrets masked."""
    return {
        "name": agent.name,
        "url": agent.url,
        "health_url": agent.health_url,
        "description": agent.description,
        "auth_type": agent.auth.type.value,
        "auth_config": masked_auth(agent.auth),
        "timeout_ms": agent.timeout_ms,
        "retry_config": attrs.asdict(agent.retry),
        "status": agent.status.value,
    }


def _audit(services: Services, agent: Agent, action: str, actor: Actor, changes: Any) -> AuditEntry:
    return audit_entry(services, EntityType.AGENT, agent.id, action, actor, changes)


@attrs.define
class AgentRegistry:
    """Register, read, change, delete and health-check agents."""

    services: Services
    invoker: AgentInvoker

    async def register(self, cmd: RegisterAgent) -> Agent:
        now = self.services.clock.now()
        agent = Agent(
            id=AgentId(self.services.ids.new_id()),
            name=cmd.name,
            url=cmd.url,
            health_url=cmd.health_url or default_health_url(cmd.url),
            description=cmd.description,
            auth=cmd.auth,
            timeout_ms=cmd.timeout_ms,
            retry=cmd.retry,
            status=cmd.status,
            last_health=None,
            created_at=now,
            updated_at=now,
        )
        agent.problems().raise_invalid()
        async with self.services.uow() as uow:
            await uow.agents.add(agent)
            await uow.audit.append(_audit(self.services, agent, "create", cmd.actor, diff({}, audit_view(agent))))
            await uow.commit()
        return agent

    async def get(self, agent_id: AgentId) -> Agent:
        async with self.services.uow() as uow:
            return await uow.agents.get(agent_id)

    async def list(self, query: AgentQuery) -> Page[Agent]:
        async with self.services.uow() as uow:
            return await uow.agents.list(query)

    async def update(self, cmd: UpdateAgent) -> Agent:
        async with self.services.uow() as uow:
            current = await uow.agents.get(cmd.agent_id)
            updated = _apply_changes(current, cmd.changes, self.services.clock.now())
            updated.problems().raise_invalid()
            changes = diff(audit_view(current), audit_view(updated))
            if isinstance(updated.auth, type(current.auth)) and updated.auth != current.auth:
                changes.setdefault("auth_config", (MASK, MASK))
            await uow.agents.update(updated)
            await uow.audit.append(_audit(self.services, updated, "update", cmd.actor, changes))
            await uow.commit()
        return updated

    async def delete(self, agent_id: AgentId, actor: Actor) -> None:
        async with self.services.uow() as uow:
            agent = await uow.agents.get(agent_id)
            now = self.services.clock.now()
            await uow.agents.update(attrs.evolve(agent, deleted_at=now, updated_at=now))
            await uow.audit.append(_audit(self.services, agent, "delete", actor, {"deleted": (False, True)}))
            await uow.commit()

    async def check_health(self, agent_id: AgentId, actor: Actor) -> HealthResult:
        agent = await self.get(agent_id)
        result = await self.invoker.check_health(agent)
        async with self.services.uow() as uow:
            await uow.agents.record_health(agent_id, result)
            changes = {"last_health": (None, result.status.value)}
            await uow.audit.append(_audit(self.services, agent, "health_check", actor, changes))
            await uow.commit()
        return result


def _apply_changes(agent: Agent, changes: dict[str, Any], now: Any) -> Agent:
    fields = dict(changes)
    auth = fields.pop("auth", None)
    if auth is not None:
        fields["auth"] = _keep_masked_secrets(agent.auth, auth)
    if "url" in fields and "health_url" not in fields and agent.health_url == default_health_url(agent.url):
        fields["health_url"] = default_health_url(fields["url"])
    if fields.get("health_url", "") is None:
        fields["health_url"] = default_health_url(fields.get("url", agent.url))
    return attrs.evolve(agent, **fields, updated_at=now)


def _keep_masked_secrets(current: AuthConfig, new: AuthConfig) -> AuthConfig:
    """An update that sends `***` back for a secret keeps the stored value."""
    if type(current) is not type(new):
        return new
    kept = {name: getattr(current, name) for name, value in new.secrets().items() if value == MASK}
    return attrs.evolve(new, **kept) if kept else new
