"""GroupCommit: concurrent fenced writes share a transaction, and each fails or succeeds on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import attrs
import pytest

from adapters_memory.fenced_writes import TransactionalFencedWrites
from adapters_memory.repositories import MemoryRunRepository
from adapters_memory.store import Journal, MemoryStore
from adapters_memory.system import UuidGenerator, VirtualClock
from adapters_memory.unit_of_work import MemoryUnitOfWork
from contract.builders import at, committed_runs
from wfcore.domain.errors import LeaseLost, ServiceUnavailable, TransientConflict
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run, StepExecution, StepStatus
from wfcore.use_cases.common import Services
from wfcore.use_cases.group_commit import Change, GroupCommit, Mutation

POISON = "cannot be stored"


@attrs.define
class CountingStore:
    """The in-memory database, counting transactions, refusing to save a run whose output is POISON."""

    store: MemoryStore = attrs.field(factory=MemoryStore)
    transactions: int = 0
    # What another process commits the moment a shared transaction fails (its locks are then released).
    on_failure: Callable[[MemoryStore], None] = lambda store: None
    # Reads that fail before returning anything, as on a connection the database closed.
    dead_connections: int = 0
    # Commits that are made but report a failure, as when the connection is lost while COMMIT answers.
    lost_commit_answers: int = 0
    # Saves refused as collisions with another transaction (a deadlock), and what that one commits.
    collisions: int = 0
    on_collision: Callable[[MemoryStore], None] = lambda store: None

    def uow(self) -> MemoryUnitOfWork:
        self.transactions += 1
        unit = AnswerLosingUnitOfWork(self)
        unit.runs = PickyRunRepository(self, unit._journal)
        return unit


class AnswerLosingUnitOfWork(MemoryUnitOfWork):
    def __init__(self, database: CountingStore) -> None:
        super().__init__(database.store)
        self.database = database

    async def commit(self) -> None:
        await super().commit()
        if self.database.lost_commit_answers:
            self.database.lost_commit_answers -= 1
            raise ServiceUnavailable("the connection to the database was lost")


class PickyRunRepository(MemoryRunRepository):
    def __init__(self, database: CountingStore, journal: Journal) -> None:
        super().__init__(database.store, journal)
        self.database = database

    async def get_many(self, run_ids: Sequence[RunId], *, for_update: bool = False) -> dict[RunId, Run]:
        if self.database.dead_connections:
            self.database.dead_connections -= 1
            raise ServiceUnavailable("the connection to the database was lost")
        return await super().get_many(run_ids, for_update=for_update)

    async def save_progress(self, changed: Sequence[Run], steps: Sequence[StepExecution]) -> None:
        if self.database.collisions:
            self.database.collisions -= 1
            self.database.on_collision(self.database.store)
            raise TransientConflict("the change collided with a concurrent one and was not made")
        if any(run.output == POISON for run in changed):
            self.database.on_failure(self.database.store)
            raise ValueError("the database refused the value")
        await super().save_progress(changed, steps)


@pytest.fixture
def database() -> CountingStore:
    return CountingStore()


@pytest.fixture
def group(database: CountingStore) -> GroupCommit:
    return GroupCommit(Services(uow=database.uow, clock=VirtualClock(), ids=UuidGenerator()))


async def held_runs(database: CountingStore, count: int) -> list[Run]:
    runs = await committed_runs(database.uow, count)
    held = []
    for run in runs:
        async with database.uow() as tx:
            claimed = await tx.runs.claim(run.id, owner="worker", now=at(0), expires_at=at(30))
            await tx.commit()
        assert claimed is not None
        held.append(claimed)
    return held


def finish_with(output: object) -> Mutation:
    def mutate(run: Run) -> Change:
        finished = run.start(at=at(1)).succeed(output=output, at=at(2))
        return finished, [], [RunEvent(run_id=run.id, type=EventType.RUN_SUCCEEDED, at=at(2))]

    return mutate


@attrs.define
class Recording:
    """A mutation that notes the runs it was computed from."""

    mutate: Mutation
    computed_from: list[Run] = attrs.Factory(list)

    def __call__(self, run: Run) -> Change:
        self.computed_from.append(run)
        return self.mutate(run)


def token(run: Run) -> int:
    assert run.lease is not None
    return run.lease.token


async def stored_outputs(database: CountingStore, runs: list[Run]) -> list[object]:
    async with database.uow() as tx:
        found = await tx.runs.get_many([run.id for run in runs])
    return [found[run.id].output for run in runs]


async def test_writes_made_at_the_same_moment_share_one_transaction(
    database: CountingStore, group: GroupCommit
) -> None:
    runs = await held_runs(database, 4)
    before = database.transactions
    changes = await asyncio.gather(*(group.write(run.id, token(run), finish_with(n)) for n, run in enumerate(runs)))
    assert database.transactions - before == 1
    assert [change[0].output for change in changes] == [0, 1, 2, 3]
    assert await stored_outputs(database, runs) == [0, 1, 2, 3]
    events = [event for event in database.store.events if event.type is EventType.RUN_SUCCEEDED]
    assert sorted(event.run_id for event in events) == sorted(run.id for run in runs)


async def test_a_write_under_a_stale_token_fails_alone(database: CountingStore, group: GroupCommit) -> None:
    stale, fresh = await held_runs(database, 2)
    results = await asyncio.gather(
        group.write(stale.id, token(stale) - 1, finish_with("late")),
        group.write(fresh.id, token(fresh), finish_with("fresh")),
        return_exceptions=True,
    )
    assert isinstance(results[0], LeaseLost)
    assert await stored_outputs(database, [stale, fresh]) == [None, "fresh"]


async def test_a_change_that_cannot_be_computed_fails_alone(database: CountingStore, group: GroupCommit) -> None:
    broken, fine = await held_runs(database, 2)

    def fails(run: Run) -> Change:
        raise RuntimeError("a bug in the mutation")

    results = await asyncio.gather(
        group.write(broken.id, token(broken), fails),
        group.write(fine.id, token(fine), finish_with("fine")),
        return_exceptions=True,
    )
    assert isinstance(results[0], RuntimeError)
    assert await stored_outputs(database, [broken, fine]) == [None, "fine"]


async def test_when_the_shared_commit_fails_each_write_is_committed_alone(
    database: CountingStore, group: GroupCommit
) -> None:
    runs = await held_runs(database, 3)
    outputs = ["first", POISON, "third"]
    before = database.transactions
    results = await asyncio.gather(
        *(group.write(run.id, token(run), finish_with(output)) for run, output in zip(runs, outputs, strict=True)),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    assert database.transactions - before == 1 + 3
    assert await stored_outputs(database, runs) == ["first", None, "third"]


async def test_a_write_abandoned_by_its_writer_before_the_commit_is_not_made(
    database: CountingStore, group: GroupCommit
) -> None:
    abandoned, kept = await held_runs(database, 2)
    first = asyncio.create_task(group.write(abandoned.id, token(abandoned), finish_with("abandoned")))
    second = asyncio.create_task(group.write(kept.id, token(kept), finish_with("kept")))
    await asyncio.sleep(0)
    first.cancel()
    await second
    assert await stored_outputs(database, [abandoned, kept]) == [None, "kept"]


def finish_seeing_the_cancel(stored: Run) -> Change:
    return finish_with("cancel seen" if stored.cancel_requested_at else "cancel not seen")(stored)


async def test_a_write_whose_run_changed_after_the_shared_commit_failed_is_computed_again_from_the_run_as_stored(
    database: CountingStore, group: GroupCommit
) -> None:
    poisoned, cancelled = await held_runs(database, 2)

    def cancel_meanwhile(store: MemoryStore) -> None:
        store.runs[cancelled.id] = attrs.evolve(store.runs[cancelled.id], cancel_requested_at=at(1))

    database.on_failure = cancel_meanwhile
    mutation = Recording(finish_seeing_the_cancel)
    results = await asyncio.gather(
        group.write(poisoned.id, token(poisoned), finish_with(POISON)),
        group.write(cancelled.id, token(cancelled), mutation),
        return_exceptions=True,
    )
    assert isinstance(results[0], ValueError)
    assert [computed.cancel_requested_at for computed in mutation.computed_from] == [None, at(1)]
    assert await stored_outputs(database, [poisoned, cancelled]) == [None, "cancel seen"]


async def test_a_batch_that_failed_before_any_change_was_computed_is_tried_once_more(
    database: CountingStore, group: GroupCommit
) -> None:
    runs = await held_runs(database, 5)
    database.dead_connections = 1
    await asyncio.gather(*(group.write(run.id, token(run), finish_with(n)) for n, run in enumerate(runs[:3])))
    assert await stored_outputs(database, runs[:3]) == [0, 1, 2]

    database.dead_connections = 2
    results = await asyncio.gather(
        *(group.write(run.id, token(run), finish_with("late")) for run in runs[3:]), return_exceptions=True
    )
    assert [type(result) for result in results] == [ServiceUnavailable, ServiceUnavailable], "once more, not forever"


async def test_a_released_lease_fences_out_its_old_holder_too(database: CountingStore, group: GroupCommit) -> None:
    [run] = await held_runs(database, 1)
    async with database.uow() as tx:
        await tx.runs.release(run.id, token=token(run))
        await tx.commit()
    with pytest.raises(LeaseLost):
        await group.write(run.id, token(run), finish_with("after the release"))


async def test_a_renewal_made_while_a_write_waits_to_be_tried_alone_is_kept(
    database: CountingStore, group: GroupCommit
) -> None:
    poisoned, renewed = await held_runs(database, 2)

    def renew_meanwhile(store: MemoryStore) -> None:
        held = store.runs[renewed.id]
        assert held.lease is not None
        store.runs[renewed.id] = attrs.evolve(held, lease=attrs.evolve(held.lease, expires_at=at(90)))

    database.on_failure = renew_meanwhile
    results = await asyncio.gather(
        group.write(poisoned.id, token(poisoned), finish_with(POISON)),
        group.write(renewed.id, token(renewed), finish_with("written alone")),
        return_exceptions=True,
    )
    assert isinstance(results[0], ValueError)
    assert await stored_outputs(database, [renewed]) == ["written alone"]
    lease = database.store.runs[renewed.id].lease
    assert lease is not None
    assert lease.expires_at == at(90)


def renew(run_id: RunId, until: float) -> Callable[[MemoryStore], None]:
    """What another transaction commits: the run's lease renewed until `at(until)`."""

    def renew_in(store: MemoryStore) -> None:
        held = store.runs[run_id]
        assert held.lease is not None
        store.runs[run_id] = attrs.evolve(held, lease=attrs.evolve(held.lease, expires_at=at(until)))

    return renew_in


@pytest.mark.parametrize("collisions", [2, 3])
async def test_a_write_alone_that_collides_is_tried_again_from_the_run_as_it_is_then(
    database: CountingStore, group: GroupCommit, collisions: int
) -> None:
    fine, poisoned = await held_runs(database, 2)

    def renew_then_collide(store: MemoryStore) -> None:
        renew(fine.id, 90)(store)
        database.collisions = collisions
        database.on_collision = renew(fine.id, 99)
        database.on_failure = lambda store: None  # once: the poisoned write fails again when tried alone

    database.on_failure = renew_then_collide
    results = await asyncio.gather(
        group.write(fine.id, token(fine), finish_with("fine")),
        group.write(poisoned.id, token(poisoned), finish_with(POISON)),
        return_exceptions=True,
    )

    assert isinstance(results[1], ValueError)
    lease = database.store.runs[fine.id].lease
    assert lease is not None
    if collisions < 3:
        assert not isinstance(results[0], BaseException)
        assert await stored_outputs(database, [fine, poisoned]) == ["fine", None]
        assert lease.expires_at == at(99), "the renewal committed between the tries is not taken back"
    else:  # three tries in all
        assert isinstance(results[0], TransientConflict)
        assert await stored_outputs(database, [fine, poisoned]) == [None, None]


def finish_step(run: Run, step: StepExecution) -> Change:
    finished = attrs.evolve(step, status=StepStatus.SUCCEEDED, output={"done": True}, finished_at=at(2))
    return run, [finished], [RunEvent(run_id=run.id, type=EventType.STEP_SUCCEEDED, at=at(2), step_id=step.step_id)]


@pytest.mark.parametrize("unlocked_writes", [False, True], ids=["locked", "unlocked"])
async def test_a_change_whose_commit_was_made_but_reported_failed_is_not_written_twice(
    database: CountingStore, request: pytest.FixtureRequest, unlocked_writes: bool
) -> None:
    committer: GroupCommit = request.getfixturevalue("unlocked" if unlocked_writes else "group")
    [run] = await held_runs(database, 1)
    [step, *_] = database.store.steps[run.id].values()
    database.lost_commit_answers = 1
    expected = run if unlocked_writes else None
    change = await committer.write(run.id, token(run), lambda stored: finish_step(stored, step), expected=expected)
    assert change[1][0].status is StepStatus.SUCCEEDED
    succeeded = [event for event in database.store.events if event.type is EventType.STEP_SUCCEEDED]
    assert len(succeeded) == 1
    assert [event.type for event in database.store.events if event.run_id == run.id] == [EventType.STEP_SUCCEEDED]


def finish_and_release(run: Run) -> Change:
    finished, steps, events = finish_with("finished")(run)
    assert run.lease is not None
    return attrs.evolve(finished, lease=run.lease.released()), steps, events


async def test_a_step_change_retried_alone_after_a_real_failure_is_written_once(
    database: CountingStore, group: GroupCommit
) -> None:
    poisoned, stepped = await held_runs(database, 2)
    [step, *_] = database.store.steps[stepped.id].values()
    results = await asyncio.gather(
        group.write(poisoned.id, token(poisoned), finish_with(POISON)),
        group.write(stepped.id, token(stepped), lambda stored: finish_step(stored, step)),
        return_exceptions=True,
    )
    assert isinstance(results[0], ValueError)
    assert database.store.steps[stepped.id][step.step_id].status is StepStatus.SUCCEEDED
    assert [event.type for event in database.store.events if event.run_id == stepped.id] == [EventType.STEP_SUCCEEDED]


async def test_a_release_retried_alone_is_written_with_the_change(database: CountingStore, group: GroupCommit) -> None:
    poisoned, finishing = await held_runs(database, 2)
    results = await asyncio.gather(
        group.write(poisoned.id, token(poisoned), finish_with(POISON)),
        group.write(finishing.id, token(finishing), finish_and_release),
        return_exceptions=True,
    )
    assert isinstance(results[0], ValueError)
    lease = database.store.runs[finishing.id].lease
    assert lease is not None
    assert lease.owner is None


async def test_a_finishing_change_whose_commit_was_made_but_reported_failed_is_not_lost(
    database: CountingStore, group: GroupCommit
) -> None:
    [run] = await held_runs(database, 1)
    database.lost_commit_answers = 1
    change = await group.write(run.id, token(run), finish_and_release)
    assert change[0].output == "finished"
    assert [event.type for event in database.store.events if event.run_id == run.id] == [EventType.RUN_SUCCEEDED]


# Unlocked writes: computed from the run as last committed, saved through `FencedWrites` while it is still so.


@pytest.fixture
def unlocked(database: CountingStore) -> GroupCommit:
    services = Services(uow=database.uow, clock=VirtualClock(), ids=UuidGenerator())
    return GroupCommit(services, TransactionalFencedWrites(database.uow))


async def test_writes_of_runs_unchanged_since_are_computed_from_the_runs_as_last_committed(
    database: CountingStore, unlocked: GroupCommit
) -> None:
    runs = await held_runs(database, 3)
    for run in runs:  # renewed since: the only change a held run sees, which the change must not undo
        async with database.uow() as tx:
            assert await tx.runs.renew(run.id, token=token(run), expires_at=at(90))
            await tx.commit()
    mutations = [Recording(finish_with(n)) for n in range(3)]
    before = database.transactions
    await asyncio.gather(
        *(
            unlocked.write(run.id, token(run), mutation, expected=run)
            for run, mutation in zip(runs, mutations, strict=True)
        )
    )
    assert database.transactions - before == 1
    assert [mutation.computed_from for mutation in mutations] == [[run] for run in runs]
    assert await stored_outputs(database, runs) == [0, 1, 2]
    assert all(
        lease is not None and lease.expires_at == at(90) for lease in (database.store.runs[r.id].lease for r in runs)
    )


async def test_a_run_changed_since_its_last_write_has_the_change_computed_again_from_the_run_as_stored(
    database: CountingStore, unlocked: GroupCommit
) -> None:
    [run] = await held_runs(database, 1)
    database.store.runs[run.id] = attrs.evolve(database.store.runs[run.id], cancel_requested_at=at(1))

    mutation = Recording(finish_seeing_the_cancel)
    change = await unlocked.write(run.id, token(run), mutation, expected=run)
    assert change[0].output == "cancel seen"
    assert [computed.cancel_requested_at for computed in mutation.computed_from] == [None, at(1)]
    assert await stored_outputs(database, [run]) == ["cancel seen"]


async def test_a_lease_lost_since_the_last_write_fails_the_write(
    database: CountingStore, unlocked: GroupCommit
) -> None:
    [run] = await held_runs(database, 1)
    async with database.uow() as tx:
        assert await tx.runs.claim(run.id, owner="other", now=at(31), expires_at=at(60)) is not None
        await tx.commit()
    with pytest.raises(LeaseLost):
        await unlocked.write(run.id, token(run), finish_with("late"), expected=run)
    assert await stored_outputs(database, [run]) == [None]


async def test_unlocked_writes_that_failed_before_saving_are_each_saved_alone(
    database: CountingStore, unlocked: GroupCommit
) -> None:
    runs = await held_runs(database, 2)
    database.dead_connections = 1
    before = database.transactions
    await asyncio.gather(
        *(unlocked.write(run.id, token(run), finish_with(n), expected=run) for n, run in enumerate(runs))
    )
    assert database.transactions - before == 1 + 2
    assert await stored_outputs(database, runs) == [0, 1]


async def test_an_unlocked_write_whose_statement_failed_on_a_run_changed_meanwhile_is_computed_again(
    database: CountingStore, unlocked: GroupCommit
) -> None:
    [run] = await held_runs(database, 1)
    database.store.runs[run.id] = attrs.evolve(database.store.runs[run.id], cancel_requested_at=at(1))
    database.dead_connections = 1  # the one statement fails: the change is then committed alone
    mutation = Recording(finish_seeing_the_cancel)

    change = await unlocked.write(run.id, token(run), mutation, expected=run)

    assert change[0].output == "cancel seen"
    assert [computed.cancel_requested_at for computed in mutation.computed_from] == [None, at(1)]
    assert await stored_outputs(database, [run]) == ["cancel seen"]
