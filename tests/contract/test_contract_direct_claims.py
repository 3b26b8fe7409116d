"""DirectClaims: the claim committed at once, and the reads that executing the claimed run needs.

Each backend's implementation answers as the unit of work's own claim and reads do: the in-memory and
SQLite ones through units of work, PostgreSQL's in two statements outside a transaction block.
"""

from __future__ import annotations

import attrs
import pytest

from adapters_db.direct_claims import PostgresDirectClaims
from adapters_memory.direct_claims import TransactionalDirectClaims
from contract.backends import SQL_BACKENDS, WithPort, with_port
from contract.builders import agent, at, committed_run, committed_runs
from wfcore.domain.agents import BearerAuth
from wfcore.domain.errors import NotFound
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Lease, Run, RunStatus, StepAttempt, StepStatus
from wfcore.ports.persistence import DirectClaims
from wfcore.use_cases.execution_reads import pick_agent
from wfcore.use_cases.workflows import resolve_agent

Backend = WithPort[DirectClaims]


@pytest.fixture(params=["memory", *SQL_BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    return with_port(
        request, TransactionalDirectClaims, lambda found: PostgresDirectClaims(found.database, found.secret_box)
    )


async def stored(backend: Backend, run: Run) -> Run:
    async with backend.uow() as tx:
        return await tx.runs.get(run.id)


async def test_a_claim_takes_the_lease_with_the_next_token_and_is_committed_at_once(backend: Backend) -> None:
    run = await committed_run(backend.uow)

    claimed = await backend.port.claim(run.id, owner="worker", now=at(0), expires_at=at(30))

    assert claimed == attrs.evolve(run, lease=Lease(owner="worker", expires_at=at(30), token=1))
    assert await stored(backend, run) == claimed


async def test_a_held_lease_is_not_claimed_until_it_expires_or_is_released(backend: Backend) -> None:
    run = await committed_run(backend.uow)
    first = await backend.port.claim(run.id, owner="one", now=at(0), expires_at=at(30))

    assert await backend.port.claim(run.id, owner="two", now=at(29), expires_at=at(59)) is None
    taken_over = await backend.port.claim(run.id, owner="two", now=at(30), expires_at=at(60))

    assert first is not None
    assert taken_over is not None
    assert taken_over.lease == Lease(owner="two", expires_at=at(60), token=2)
    async with backend.uow() as tx:
        await tx.runs.release(run.id, token=2)
        await tx.commit()
    assert await backend.port.claim(run.id, owner="three", now=at(31), expires_at=at(61)) is not None


@pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED])
async def test_a_finished_or_unknown_run_is_not_claimed(backend: Backend, status: RunStatus) -> None:
    run = await committed_run(backend.uow, status=status)

    assert await backend.port.claim(run.id, owner="worker", now=at(0), expires_at=at(30)) is None
    missing = RunId(run.id + "-missing")
    assert await backend.port.claim(missing, owner="worker", now=at(0), expires_at=at(30)) is None
    assert (await stored(backend, run)).lease is None


async def test_the_reads_give_the_steps_as_stored_in_order(backend: Backend) -> None:
    run, other = await committed_runs(backend.uow, 2)
    async with backend.uow() as tx:
        steps = await tx.runs.steps(run.id)
        attempt = StepAttempt(attempt=1, started_at=at(1), finished_at=at(2), http_status=200)
        running = steps[0].to(StepStatus.RUNNING, started_at=at(1), input={"text": "hello"})
        progressed = running.to(StepStatus.SUCCEEDED, output={"n": [1, None]}, finished_at=at(2), attempts=(attempt,))
        await tx.runs.save_progress([], [progressed])
        await tx.commit()

    reads = await backend.port.execution_reads(run.id, [])

    assert reads.steps == [progressed, steps[1]]
    assert reads.agents == []
    assert [step.run_id for step in (await backend.port.execution_reads(other.id, [])).steps] == [other.id] * 2


async def test_the_reads_give_the_live_agents_named_by_id_or_by_name_secrets_included(backend: Backend) -> None:
    run = await committed_run(backend.uow)
    by_id, by_name, unnamed = agent("by-id"), agent("by-name", auth=BearerAuth(token="s3cret")), agent("unnamed")
    deleted = agent("deleted")
    # Named after another agent's id: a reference to that id is the other agent, found by id first.
    impostor = agent(by_id.id)
    async with backend.uow() as tx:
        for added in (by_id, by_name, unnamed, deleted, impostor):
            await tx.agents.add(added)
        await tx.agents.update(attrs.evolve(deleted, deleted_at=at(5)))
        await tx.commit()

    references = [by_id.id, by_id.id.upper(), by_name.name, deleted.name, deleted.id, "nobody"]
    reads = await backend.port.execution_reads(run.id, references)

    assert {found.id for found in reads.agents} <= {by_id.id, by_name.id, impostor.id}
    assert by_id in reads.agents
    assert by_name in reads.agents
    async with backend.uow() as tx:
        for reference in references:
            try:
                resolved = await resolve_agent(tx.agents, reference)
            except NotFound:
                resolved = None
            assert pick_agent(reads.agents, reference) == resolved, reference
