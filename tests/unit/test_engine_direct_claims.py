"""The engine's claim as on PostgreSQL, committed before its reads: what may happen between the two."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime

import attrs
import pytest

from unit.definitions import step
from unit.harness import ADA, Harness
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run, RunStatus
from wfcore.ports.persistence import DirectClaims, ExecutionReads
from wfcore.use_cases.runs import CancelRun


@attrs.define
class _BeforeTheReads:
    """`DirectClaims` that runs `meanwhile` between the claim's commit and its reads."""

    claims: DirectClaims
    meanwhile: Callable[[], Awaitable[None]]

    async def claim(self, run_id: RunId, *, owner: str, now: datetime, expires_at: datetime) -> Run | None:
        return await self.claims.claim(run_id, owner=owner, now=now, expires_at=expires_at)

    async def execution_reads(self, run_id: RunId, agent_references: Collection[str]) -> ExecutionReads:
        await self.meanwhile()
        return await self.claims.execution_reads(run_id, agent_references)


async def _pending_run(harness: Harness, meanwhile: Callable[[Run], Awaitable[None]]) -> Run:
    assert harness.direct_claims is not None
    await harness.agent("echo")
    saved = await harness.workflow(step("a"), step("b", "echo", "a"))
    run = await harness.start(saved.workflow_id)
    harness.direct_claims = _BeforeTheReads(harness.direct_claims, lambda: meanwhile(run))
    return run


async def test_a_cancel_committed_between_the_claim_and_its_reads_cancels_the_run_before_any_call() -> None:
    harness = Harness.build(as_on_postgres=True)

    async def cancel(run: Run) -> None:
        await harness.commands.cancel(CancelRun(run.id, ADA))

    run = await _pending_run(harness, cancel)

    finished = await harness.engine().execute(run.id)

    assert finished is not None
    assert finished.status is RunStatus.CANCELLED
    assert harness.store.runs[run.id] == finished
    assert harness.invoker.calls == []


@pytest.mark.parametrize("failure", [asyncio.CancelledError, ConnectionError], ids=["cancelled", "failed"])
async def test_a_claim_whose_reads_do_not_finish_gives_the_lease_back(failure: type[BaseException]) -> None:
    harness = Harness.build(as_on_postgres=True)

    async def interrupt(run: Run) -> None:
        raise failure()

    run = await _pending_run(harness, interrupt)
    engine = harness.engine()

    with pytest.raises(failure):
        await engine.claim(run.id)

    stored = harness.store.runs[run.id]
    assert stored.lease is not None
    assert stored.lease.token == 1, "it was claimed"
    assert stored.lease.owner is None, "and given back, for the next offer or sweep to take at once"
    assert not await engine.holds(run.id)
