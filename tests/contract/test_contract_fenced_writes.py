"""FencedWrites: a change computed from the run as its holder last committed it is saved only if the run is still so.

Each backend's implementation answers alike: the in-memory and SQLite ones through a unit of work,
PostgreSQL's in one statement outside a transaction block.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
import pytest

from adapters_db.fenced_writes import PostgresFencedWrites
from adapters_memory.fenced_writes import TransactionalFencedWrites
from contract.backends import SQL_BACKENDS, WithPort, with_port
from contract.builders import at, committed_runs
from wfcore.domain.errors import InvalidInput
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.runs import Run, RunStatus, StepExecution, StepStatus
from wfcore.ports.persistence import FencedWrites, HeldChange, UnitOfWork

Backend = WithPort[FencedWrites]


@pytest.fixture(params=["memory", *SQL_BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    return with_port(request, TransactionalFencedWrites, lambda found: PostgresFencedWrites(found.database))


async def held(backend: Backend, count: int = 1) -> list[Run]:
    """Runs claimed by `worker` until at(30), started, their first step running: as the engine leaves them."""
    runs = []
    for stored in await committed_runs(backend.uow, count):
        async with backend.uow() as tx:
            claimed = await tx.runs.claim(stored.id, owner="worker", now=at(0), expires_at=at(30))
            assert claimed is not None
            started = claimed.start(at=at(1))
            await tx.runs.save_progress([started], [first_step(started).to(StepStatus.RUNNING, started_at=at(1))])
            await tx.commit()
        runs.append(started)
    return runs


def first_step(run: Run) -> StepExecution:
    return StepExecution(run_id=run.id, step_id="first")


def next_step(run: Run, *, finish: bool = False) -> HeldChange:
    """The engine's usual write: the first step succeeded and the second started (or the run finished too)."""
    running = first_step(run).to(StepStatus.RUNNING, started_at=at(1))
    done = running.to(StepStatus.SUCCEEDED, output={"n": 1}, finished_at=at(2))
    second = StepExecution(run_id=run.id, step_id="second").to(StepStatus.RUNNING, started_at=at(2))
    events = [
        RunEvent(run_id=run.id, type=EventType.STEP_SUCCEEDED, at=at(2), step_id="first"),
        RunEvent(run_id=run.id, type=EventType.STEP_STARTED, at=at(2), step_id="second", data={"k": [1, None]}),
    ]
    changed = run
    if finish:
        assert run.lease is not None
        changed = attrs.evolve(run.succeed(output={"done": True}, at=at(3)), lease=run.lease.released())
    return HeldChange(expected=run, run=changed, steps=[done, second], events=events)


async def stored(backend: Backend, run: Run) -> tuple[Run, dict[str, StepExecution], list[RunEvent]]:
    async with backend.uow() as tx:
        found = await tx.runs.get(run.id)
        steps = {step.step_id: step for step in await tx.runs.steps(run.id)}
        events = [attrs.evolve(event, seq=None) for event in await tx.runs.events(run.id)]
    return found, steps, events


async def test_a_change_of_a_run_still_as_expected_is_saved(backend: Backend) -> None:
    [run] = await held(backend)
    change = next_step(run)
    assert await backend.port.save_if_unchanged([change]) == {run.id}
    found, steps, events = await stored(backend, run)
    assert found == run
    assert [steps["first"], steps["second"]] == list(change.steps)
    assert events == list(change.events)


async def test_a_finishing_change_saves_the_run_and_gives_the_lease_back(backend: Backend) -> None:
    [run] = await held(backend)
    change = next_step(run, finish=True)
    assert await backend.port.save_if_unchanged([change]) == {run.id}
    found, _, _ = await stored(backend, run)
    assert found == change.run
    assert found.lease is not None
    assert (found.lease.owner, found.lease.expires_at, found.lease.token) == (None, None, 1)


async def test_a_renewal_made_since_the_change_was_computed_is_kept(backend: Backend) -> None:
    [run] = await held(backend)
    async with backend.uow() as tx:
        assert await tx.runs.renew(run.id, token=1, expires_at=at(60))
        await tx.commit()
    finished = next_step(run, finish=False)
    changed = attrs.evolve(finished, run=finished.run.succeed(output=None, at=at(3)))
    assert await backend.port.save_if_unchanged([changed]) == {run.id}
    found, _, _ = await stored(backend, run)
    assert found.status is RunStatus.SUCCEEDED
    assert found.lease is not None
    assert (found.lease.owner, found.lease.expires_at) == ("worker", at(60))


async def _cancel_requested(tx: UnitOfWork, run: Run) -> None:
    await tx.runs.update(attrs.evolve(run.request_cancel(by="alice", at=at(5)), lease=None))


async def _taken_over(tx: UnitOfWork, run: Run) -> None:
    assert await tx.runs.claim(run.id, owner="other", now=at(31), expires_at=at(60)) is not None


async def _released(tx: UnitOfWork, run: Run) -> None:
    await tx.runs.release(run.id, token=1)


async def _failed(tx: UnitOfWork, run: Run) -> None:
    await tx.runs.update(attrs.evolve(run, status=RunStatus.FAILED, lease=None))


@pytest.mark.parametrize("since", [_cancel_requested, _taken_over, _released, _failed])
async def test_a_change_of_a_run_changed_since_is_not_saved(
    backend: Backend, since: Callable[[UnitOfWork, Run], Awaitable[None]]
) -> None:
    [run] = await held(backend)
    async with backend.uow() as tx:
        await since(tx, run)
        await tx.commit()
    before = await stored(backend, run)
    assert await backend.port.save_if_unchanged([next_step(run, finish=True)]) == set()
    assert await stored(backend, run) == before


async def test_in_a_batch_only_the_runs_still_as_expected_are_saved(backend: Backend) -> None:
    runs = await held(backend, 3)
    async with backend.uow() as tx:
        await _cancel_requested(tx, runs[1])
        await tx.commit()
    assert await backend.port.save_if_unchanged([next_step(run) for run in runs]) == {runs[0].id, runs[2].id}
    for run, saved in zip(runs, (True, False, True), strict=True):
        _, steps, events = await stored(backend, run)
        assert (steps["second"].status is StepStatus.RUNNING) is saved
        assert [event.type for event in events] == ([EventType.STEP_SUCCEEDED, EventType.STEP_STARTED] if saved else [])


async def test_two_changes_of_one_run_in_one_call_are_both_saved(backend: Backend) -> None:
    # A step's retry recorded in the same batch as the drive's progress: different steps, both its events.
    [run] = await held(backend)
    progress = next_step(run)
    retried = StepExecution(run_id=run.id, step_id="second").to(StepStatus.RUNNING, started_at=at(1), input={"try": 2})
    retry = HeldChange(
        expected=run,
        run=run,
        steps=[retried],
        events=[RunEvent(run_id=run.id, type=EventType.RETRY_SCHEDULED, at=at(1), step_id="second")],
    )
    assert await backend.port.save_if_unchanged([retry, attrs.evolve(progress, steps=progress.steps[:1])]) == {run.id}
    _, steps, events = await stored(backend, run)
    assert (steps["first"].status, steps["second"]) == (StepStatus.SUCCEEDED, retried)
    assert [event.type for event in events] == [EventType.RETRY_SCHEDULED, *(event.type for event in progress.events)]


@pytest.mark.parametrize("backend", SQL_BACKENDS, indirect=True)
async def test_a_value_the_database_cannot_store_fails_the_call_and_saves_nothing(backend: Backend) -> None:
    runs = await held(backend, 2)
    poisoned = next_step(runs[1])
    [done, started] = poisoned.steps
    changes = [next_step(runs[0]), attrs.evolve(poisoned, steps=[attrs.evolve(done, output="nul \x00"), started])]
    before = [await stored(backend, run) for run in runs]
    with pytest.raises(InvalidInput):
        await backend.port.save_if_unchanged(changes)
    assert [await stored(backend, run) for run in runs] == before


async def test_nothing_to_save_saves_nothing(backend: Backend) -> None:
    assert await backend.port.save_if_unchanged([]) == set()
