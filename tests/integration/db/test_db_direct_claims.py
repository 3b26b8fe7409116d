"""PostgreSQL's claim in two statements against the previous holder's last write, still under way."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from adapters_db.direct_claims import PostgresDirectClaims
from contract.backends import SqlBackend
from contract.builders import at, committed_runs
from wfcore.domain.runs import Lease, StepStatus

_WAITING_ON_A_LOCK = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def _until_a_statement_waits_on_a_lock(backend: SqlBackend) -> None:
    # Outside a transaction: within one, PostgreSQL answers from the activity it read first.
    async with backend.database.engine.connect() as connection:
        observer = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for _ in range(3000):
            if (await observer.execute(_WAITING_ON_A_LOCK)).scalar_one():
                return
            await asyncio.sleep(0.01)
    raise AssertionError("no statement waited on the run's lock")


@pytest.mark.postgres
async def test_a_claim_waits_for_the_previous_holders_write_and_reads_what_it_committed(
    postgres_backend: SqlBackend,
) -> None:
    [stored] = await committed_runs(postgres_backend.uow, 1)
    claims = PostgresDirectClaims(postgres_backend.database, postgres_backend.secret_box)
    assert await claims.claim(stored.id, owner="one", now=at(0), expires_at=at(30)) is not None

    # The first holder's last write, after its lease expired: it locks the run row, as every engine write does.
    async with postgres_backend.uow() as tx:
        await tx.runs.get_many([stored.id], for_update=True)
        first = (await tx.runs.steps(stored.id))[0]
        done = first.to(StepStatus.RUNNING, started_at=at(1)).to(
            StepStatus.SUCCEEDED, output={"n": 1}, finished_at=at(40)
        )
        await tx.runs.save_progress([], [done])
        taking_over = asyncio.create_task(claims.claim(stored.id, owner="two", now=at(40), expires_at=at(70)))
        await _until_a_statement_waits_on_a_lock(postgres_backend)
        assert not taking_over.done()
        await tx.commit()

    claimed = await taking_over
    assert claimed is not None
    assert claimed.lease == Lease(owner="two", expires_at=at(70), token=2)
    reads = await claims.execution_reads(stored.id, [])
    assert reads.steps[0] == done
