"""The unit of work: one transaction, rolled back unless committed; row locks serialise commands."""

from __future__ import annotations

import asyncio

import pytest

from contract.builders import agent, at, committed_run
from wfcore.domain.errors import NotFound
from wfcore.domain.runs import RunStatus
from wfcore.ports.persistence import AgentQuery
from wfcore.use_cases.common import UnitOfWorkFactory


async def test_changes_are_kept_only_when_committed(uow: UnitOfWorkFactory) -> None:
    kept, dropped = agent("kept"), agent("dropped")
    async with uow() as tx:
        await tx.agents.add(dropped)
    async with uow() as tx:
        await tx.agents.add(kept)
        await tx.commit()
    async with uow() as tx:
        assert await tx.agents.get(kept.id) == kept
        with pytest.raises(NotFound):
            await tx.agents.get(dropped.id)


async def test_an_exception_rolls_everything_back(uow: UnitOfWorkFactory) -> None:
    async def failing_use_case() -> None:
        async with uow() as tx:
            await tx.agents.add(agent())
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError, match="the use case failed"):
        await failing_use_case()
    async with uow() as tx:
        assert (await tx.agents.list(AgentQuery())).total == 0


async def test_work_after_the_last_commit_is_rolled_back(uow: UnitOfWorkFactory) -> None:
    first, second = agent("first"), agent("second")
    async with uow() as tx:
        await tx.agents.add(first)
        await tx.commit()
        await tx.agents.add(second)
    async with uow() as tx:
        assert [item.name for item in (await tx.agents.list(AgentQuery())).items] == ["first"]


async def test_a_transaction_sees_its_own_uncommitted_changes(uow: UnitOfWorkFactory) -> None:
    stored = agent()
    async with uow() as tx:
        await tx.agents.add(stored)
        assert await tx.agents.get(stored.id) == stored
        assert (await tx.agents.list(AgentQuery())).total == 1


async def test_commands_that_read_a_run_for_update_are_serialised(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)

    async def cancel(by: str) -> bool:
        """Cancel if still pending; True when this command made the change."""
        async with uow() as tx:
            current = await tx.runs.get(stored.id, for_update=True)
            if current.status is not RunStatus.PENDING:
                return False
            await asyncio.sleep(0.01)  # let the other commands reach their read
            await tx.runs.update(current.request_cancel(by=by, at=at(1)))
            await tx.commit()
            return True

    outcomes = await asyncio.gather(*(cancel(f"user-{n}") for n in range(4)))
    assert sorted(outcomes) == [False, False, False, True]
    async with uow() as tx:
        cancelled = await tx.runs.get(stored.id)
    assert cancelled.cancelled_by in {f"user-{n}" for n in range(4)}
    assert cancelled == stored.request_cancel(by=cancelled.cancelled_by, at=at(1))
