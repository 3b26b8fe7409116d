"""`DirectClaims` through units of work: the reference the SQL one is tested against, and the unit tests'."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import attrs

from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run
from wfcore.ports.persistence import ExecutionReads
from wfcore.use_cases.common import UnitOfWorkFactory
from wfcore.use_cases.execution_reads import read_for_execution


@attrs.frozen
class TransactionalDirectClaims:
    """The claim in a unit of work of its own, committed; the reads in another."""

    uow: UnitOfWorkFactory

    async def claim(self, run_id: RunId, *, owner: str, now: datetime, expires_at: datetime) -> Run | None:
        async with self.uow() as uow:
            run = await uow.runs.claim(run_id, owner=owner, now=now, expires_at=expires_at)
            await uow.commit()
        return run

    async def execution_reads(self, run_id: RunId, agent_references: Collection[str]) -> ExecutionReads:
        async with self.uow() as uow:
            return await read_for_execution(uow, run_id, agent_references)
