"""AgentRepository: storage, live-name uniqueness, soft delete, health, filters, sorting and pages."""

from __future__ import annotations

import attrs
import pytest

from contract.builders import agent, at
from wfcore.domain.agents import (
    Agent,
    AgentStatus,
    ApiKeyAuth,
    AuthConfig,
    BasicAuth,
    BearerAuth,
    HealthResult,
    HealthStatus,
    NoAuth,
    RetryPolicy,
)
from wfcore.domain.errors import Conflict, NotFound
from wfcore.ports.persistence import AgentQuery, Page, Sort
from wfcore.use_cases.common import UnitOfWorkFactory


@pytest.mark.parametrize(
    "auth",
    [
        NoAuth(),
        BearerAuth(token="t0ken"),
        ApiKeyAuth(key="k3y", header="X-Key"),
        BasicAuth(username="u", password="pw"),
    ],
)
async def test_an_added_agent_reads_back_unchanged(uow: UnitOfWorkFactory, auth: AuthConfig) -> None:
    health = HealthResult(
        status=HealthStatus.UNHEALTHY, http_status=503, latency_ms=12.5, checked_at=at(3), detail="down"
    )
    stored = agent(
        auth=auth,
        description="echoes",
        retry=RetryPolicy(max_attempts=5, backoff_multiplier=1.5, retry_on_status=(429, 503)),
        last_health=health,
        status=AgentStatus.INACTIVE,
    )
    async with uow() as tx:
        await tx.agents.add(stored)
        await tx.commit()
    async with uow() as tx:
        assert await tx.agents.get(stored.id) == stored
        assert await tx.agents.get_by_name("echo") == stored


async def test_unknown_agents_are_not_found(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        with pytest.raises(NotFound):
            await tx.agents.get(agent().id)
        with pytest.raises(NotFound):
            await tx.agents.get_by_name("nobody")


async def test_a_live_name_cannot_be_taken_twice_and_the_unit_of_work_survives_the_conflict(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as tx:
        await tx.agents.add(agent("echo"))
        with pytest.raises(Conflict):
            await tx.agents.add(agent("echo"))
        other = agent("other")
        await tx.agents.add(other)
        await tx.commit()
    async with uow() as tx:
        assert (await tx.agents.list(AgentQuery())).total == 2
        assert await tx.agents.get(other.id) == other


async def test_names_are_case_sensitive(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        await tx.agents.add(agent("echo"))
        await tx.agents.add(agent("Echo"))
        assert (await tx.agents.get_by_name("Echo")).name == "Echo"


async def test_update_overwrites_and_refuses_a_taken_name(uow: UnitOfWorkFactory) -> None:
    first, second = agent("first"), agent("second")
    async with uow() as tx:
        await tx.agents.add(first)
        await tx.agents.add(second)
        changed = attrs.evolve(first, url="http://127.0.0.1:9/v2", auth=BearerAuth(token="new"), updated_at=at(5))
        await tx.agents.update(changed)
        with pytest.raises(Conflict):
            await tx.agents.update(attrs.evolve(second, name="first"))
        await tx.commit()
    async with uow() as tx:
        assert await tx.agents.get(first.id) == changed
        assert await tx.agents.get(second.id) == second


async def test_update_of_an_unknown_agent_is_not_found(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        with pytest.raises(NotFound):
            await tx.agents.update(agent())


async def test_a_deleted_agent_disappears_and_frees_its_name(uow: UnitOfWorkFactory) -> None:
    old = agent("echo")
    async with uow() as tx:
        await tx.agents.add(old)
        await tx.agents.update(attrs.evolve(old, deleted_at=at(10)))
        await tx.commit()
    async with uow() as tx:
        with pytest.raises(NotFound):
            await tx.agents.get(old.id)
        with pytest.raises(NotFound):
            await tx.agents.get_by_name("echo")
        assert (await tx.agents.list(AgentQuery())).items == []
        with pytest.raises(NotFound):
            await tx.agents.update(attrs.evolve(old, description="revived"))
        with pytest.raises(NotFound):
            await tx.agents.record_health(old.id, _healthy())
        new = agent("echo")
        await tx.agents.add(new)
        await tx.commit()
    async with uow() as tx:
        assert await tx.agents.get_by_name("echo") == new


async def test_record_health_keeps_the_latest_result(uow: UnitOfWorkFactory) -> None:
    stored = agent()
    async with uow() as tx:
        await tx.agents.add(stored)
        await tx.agents.record_health(stored.id, _healthy(seconds=1))
        await tx.agents.record_health(stored.id, _healthy(seconds=2))
        await tx.commit()
    async with uow() as tx:
        assert (await tx.agents.get(stored.id)).last_health == _healthy(seconds=2)
    async with uow() as tx:
        with pytest.raises(NotFound):
            await tx.agents.record_health(agent().id, _healthy())


async def test_list_filters_by_status_and_name_substring(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        await tx.agents.add(agent("Summarise-EN", created=1))
        await tx.agents.add(agent("summary_fr", created=2, status=AgentStatus.INACTIVE))
        await tx.agents.add(agent("classifier", created=3))
        await tx.agents.add(agent("sum100", created=4))
        await tx.commit()
    async with uow() as tx:
        assert _names(await tx.agents.list(AgentQuery(name_contains="SUMM"))) == ["Summarise-EN", "summary_fr"]
        assert _names(await tx.agents.list(AgentQuery(status="inactive"))) == ["summary_fr"]
        assert _names(await tx.agents.list(AgentQuery(status="active", name_contains="sum"))) == [
            "Summarise-EN",
            "sum100",
        ]
        # LIKE wildcards in the search text match only themselves.
        assert _names(await tx.agents.list(AgentQuery(name_contains="y_"))) == ["summary_fr"]
        assert _names(await tx.agents.list(AgentQuery(name_contains="%"))) == []


async def test_list_sorts_names_case_insensitively_by_code_point(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        for created, name in enumerate(["beta", "Alpha", "a-b", "ab", "a.c", "Gamma", "a_b"]):
            await tx.agents.add(agent(name, created=created))
        await tx.commit()
    expected = ["a-b", "a.c", "a_b", "ab", "Alpha", "beta", "Gamma"]
    async with uow() as tx:
        assert _names(await tx.agents.list(AgentQuery(sort=Sort("name")))) == expected
        assert _names(await tx.agents.list(AgentQuery(sort=Sort("name", descending=True)))) == expected[::-1]


async def test_list_sorts_by_time_and_pages(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        for index in range(5):
            await tx.agents.add(agent(f"agent-{index}", created=10 - index, updated_at=at(index)))
        await tx.commit()
    async with uow() as tx:
        by_created = await tx.agents.list(AgentQuery(sort=Sort("created_at"), limit=2, offset=1))
        assert _names(by_created) == ["agent-3", "agent-2"]
        assert (by_created.total, by_created.limit, by_created.offset) == (5, 2, 1)
        newest_update = await tx.agents.list(AgentQuery(sort=Sort("updated_at", descending=True), limit=2))
        assert _names(newest_update) == ["agent-4", "agent-3"]
        assert newest_update.total == 5
        beyond = await tx.agents.list(AgentQuery(offset=10))
        assert (beyond.items, beyond.total) == ([], 5)
        last = await tx.agents.list(AgentQuery(limit=3, offset=3))
        assert (len(last.items), last.total) == (2, 5)
        only_the_total = await tx.agents.list(AgentQuery(limit=0))
        assert (only_the_total.items, only_the_total.total) == ([], 5)


def _healthy(seconds: float = 0) -> HealthResult:
    return HealthResult(
        status=HealthStatus.HEALTHY, http_status=200, latency_ms=1.0, checked_at=at(seconds), detail=None
    )


def _names(page: Page[Agent]) -> list[str]:
    return [item.name for item in page.items]
