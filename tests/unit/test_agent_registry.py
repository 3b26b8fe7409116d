"""The agent registry use cases on the in-memory adapters, with their audit entries."""

from __future__ import annotations

import pytest

from unit.harness import ADA, Harness
from wfcore.domain.agents import MASK, AgentStatus, ApiKeyAuth, BasicAuth, BearerAuth, HealthStatus, RetryPolicy
from wfcore.domain.audit import EntityType
from wfcore.domain.errors import Conflict, InvalidInput, NotFound
from wfcore.domain.ids import AgentId
from wfcore.ports.persistence import AgentQuery, AuditQuery, Sort
from wfcore.use_cases.agents import RegisterAgent, UpdateAgent

SECRET = "tok-very-secret"


async def test_register_applies_the_defaults_and_audits_without_secrets(harness: Harness) -> None:
    agent = await harness.registry.register(
        RegisterAgent(name="classifier", url="https://c.example.com/v1/run", auth=BearerAuth(SECRET), actor=ADA)
    )

    assert agent.health_url == "https://c.example.com/health"
    assert (agent.status, agent.timeout_ms, agent.retry, agent.last_health) == (
        AgentStatus.ACTIVE,
        30_000,
        RetryPolicy(),
        None,
    )
    assert await harness.registry.get(agent.id) == agent
    [entry] = (await harness.audit.list(AuditQuery(entity_id=agent.id))).items
    assert (entry.entity_type, entry.action, entry.user_id, entry.request_id) == (
        EntityType.AGENT,
        "create",
        "ada",
        "req-1",
    )
    assert entry.changes["name"] == (None, "classifier")
    assert entry.changes["auth_config"] == (None, {"token": MASK})
    assert SECRET not in repr(harness.store.audit)


async def test_register_reports_every_problem_and_stores_nothing(harness: Harness) -> None:
    with pytest.raises(InvalidInput) as raised:
        await harness.registry.register(RegisterAgent(name="bad name", url="ftp://x", timeout_ms=5))

    assert [error.loc for error in raised.value.errors] == [("name",), ("url",), ("health_url",), ("timeout_ms",)]
    assert harness.store.agents == {}
    assert harness.store.audit == []


async def test_names_are_unique_among_live_agents(harness: Harness) -> None:
    first = await harness.agent("classifier")

    with pytest.raises(Conflict, match="an agent named 'classifier' exists already"):
        await harness.agent("classifier")
    await harness.registry.delete(first.id, ADA)
    again = await harness.agent("classifier")

    assert again.id != first.id


async def test_get_of_an_unknown_or_deleted_agent_is_not_found(harness: Harness) -> None:
    agent = await harness.agent("classifier")
    await harness.registry.delete(agent.id, ADA)

    for agent_id in (agent.id, AgentId("0190b1f2-0000-7000-8000-000000000000")):
        with pytest.raises(NotFound):
            await harness.registry.get(agent_id)
    assert harness.store.agents[agent.id].deleted_at is not None


async def test_list_filters_sorts_and_pages(harness: Harness) -> None:
    for name in ("Beta", "alpha", "gamma-Alpha"):
        await harness.agent(name)
        harness.clock.advance(1)
    await harness.agent("idle", status=AgentStatus.INACTIVE)

    async def names(query: AgentQuery) -> list[str]:
        return [agent.name for agent in (await harness.registry.list(query)).items]

    assert await names(AgentQuery()) == ["Beta", "alpha", "gamma-Alpha", "idle"]
    assert await names(AgentQuery(sort=Sort("name"))) == ["alpha", "Beta", "gamma-Alpha", "idle"]
    assert await names(AgentQuery(sort=Sort("created_at", descending=True))) == ["idle", "gamma-Alpha", "alpha", "Beta"]
    assert await names(AgentQuery(name_contains="ALPHA")) == ["alpha", "gamma-Alpha"]
    assert await names(AgentQuery(status="inactive")) == ["idle"]
    page = await harness.registry.list(AgentQuery(limit=2, offset=1))
    assert ([a.name for a in page.items], page.total, page.limit, page.offset) == (["alpha", "gamma-Alpha"], 4, 2, 1)


async def test_a_partial_update_changes_only_what_it_names(harness: Harness) -> None:
    agent = await harness.agent("classifier", description="old")
    harness.clock.advance(5)

    updated = await harness.registry.update(UpdateAgent(agent.id, {"description": "new", "timeout_ms": 500}, ADA))

    assert (updated.description, updated.timeout_ms, updated.name, updated.url) == ("new", 500, agent.name, agent.url)
    assert updated.updated_at > agent.updated_at == agent.created_at == updated.created_at
    entry = (await harness.audit.list(AuditQuery(action="update"))).items[0]
    assert entry.changes == {"description": ("old", "new"), "timeout_ms": (30_000, 500)}


async def test_a_new_url_moves_a_default_health_url_but_keeps_a_chosen_one(harness: Harness) -> None:
    default = await harness.agent("a")
    chosen = await harness.agent("b", health_url="http://b.agents.test/ping")

    moved = await harness.registry.update(UpdateAgent(default.id, {"url": "https://new.example.com/x"}))
    kept = await harness.registry.update(UpdateAgent(chosen.id, {"url": "https://new.example.com/y"}))
    reset = await harness.registry.update(UpdateAgent(chosen.id, {"health_url": None}))

    assert moved.health_url == "https://new.example.com/health"
    assert kept.health_url == "http://b.agents.test/ping"
    assert reset.health_url == "https://new.example.com/health"


async def test_sending_the_mask_back_keeps_the_stored_secret(harness: Harness) -> None:
    agent = await harness.agent("a", auth=BasicAuth(username="ada", password=SECRET))

    renamed = await harness.registry.update(UpdateAgent(agent.id, {"auth": BasicAuth(username="bob", password=MASK)}))

    assert renamed.auth == BasicAuth(username="bob", password=SECRET)
    entry = (await harness.audit.list(AuditQuery(action="update"))).items[0]
    assert entry.changes == {
        "auth_config": ({"username": "ada", "password": MASK}, {"username": "bob", "password": MASK})
    }


async def test_a_changed_secret_is_audited_masked(harness: Harness) -> None:
    agent = await harness.agent("a", auth=BearerAuth(SECRET))

    rotated = await harness.registry.update(UpdateAgent(agent.id, {"auth": BearerAuth("tok-rotated")}))
    switched = await harness.registry.update(UpdateAgent(agent.id, {"auth": ApiKeyAuth(key="key-new")}))

    assert rotated.auth == BearerAuth("tok-rotated")
    assert switched.auth == ApiKeyAuth(key="key-new")
    first, second = reversed((await harness.audit.list(AuditQuery(action="update"))).items)
    assert first.changes == {"auth_config": (MASK, MASK)}
    assert second.changes["auth_type"] == ("bearer", "api_key")
    assert second.changes["auth_config"] == ({"token": MASK}, {"key": MASK, "header": "X-API-Key"})
    for secret in (SECRET, "tok-rotated", "key-new"):
        assert secret not in repr(harness.store.audit)


async def test_the_mask_is_refused_where_there_is_no_stored_secret_to_keep(harness: Harness) -> None:
    agent = await harness.agent("a", auth=BearerAuth(SECRET))

    with pytest.raises(InvalidInput) as raised:
        await harness.registry.update(UpdateAgent(agent.id, {"auth": ApiKeyAuth(key=MASK)}))
    assert [error.loc for error in raised.value.errors] == [("auth_config", "key")]
    with pytest.raises(InvalidInput):
        await harness.registry.register(RegisterAgent(name="b", url="http://b.test/", auth=BearerAuth(MASK)))

    assert (await harness.registry.get(agent.id)).auth == BearerAuth(SECRET)


async def test_an_invalid_update_changes_nothing(harness: Harness) -> None:
    agent = await harness.agent("a")
    await harness.agent("b")

    with pytest.raises(InvalidInput):
        await harness.registry.update(UpdateAgent(agent.id, {"timeout_ms": 1}))
    with pytest.raises(Conflict):
        await harness.registry.update(UpdateAgent(agent.id, {"name": "b"}))

    assert await harness.registry.get(agent.id) == agent
    assert [entry.action for entry in harness.store.audit] == ["create", "create"]


async def test_delete_is_soft_and_audited(harness: Harness) -> None:
    agent = await harness.agent("a")

    await harness.registry.delete(agent.id, ADA)

    assert (await harness.registry.list(AgentQuery())).total == 0
    assert harness.store.agents[agent.id].name == "a"
    entry = (await harness.audit.list(AuditQuery(action="delete"))).items[0]
    assert (entry.entity_id, entry.changes, entry.user_id) == (agent.id, {"deleted": (False, True)}, "ada")
    with pytest.raises(NotFound):
        await harness.registry.delete(agent.id, ADA)


async def test_a_health_check_is_recorded_and_audited(harness: Harness) -> None:
    live = await harness.agent("live")
    ghost = await harness.registry.register(RegisterAgent(name="ghost", url="http://ghost.agents.test/"))

    healthy = await harness.registry.check_health(live.id, ADA)
    unreachable = await harness.registry.check_health(ghost.id, ADA)

    assert (healthy.status, healthy.http_status) == (HealthStatus.HEALTHY, 200)
    assert unreachable.status is HealthStatus.UNREACHABLE
    assert (await harness.registry.get(live.id)).last_health == healthy
    entries = (await harness.audit.list(AuditQuery(action="health_check"))).items
    assert [entry.changes for entry in entries] == [
        {"last_health": (None, "unreachable")},
        {"last_health": (None, "healthy")},
    ]
