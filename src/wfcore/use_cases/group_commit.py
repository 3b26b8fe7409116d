"""Group commit: the engine's fenced writes of concurrent runs, committed together in one transaction.

A commit costs far more than the few rows in it (SQLite has one writer; PostgreSQL flushes its log
and answers a round trip), so a worker executing many runs commits the writes that are ready at the
same moment together: the runs' rows are locked and their fencing tokens checked in one statement,
the runs, their steps and their events written in one statement each.

A write whose lease was lost fails alone with `LeaseLost`, and so does one whose change cannot be
computed. When the shared transaction fails before any change was computed, the whole batch is tried
once more; after, each computed change is tried again in a transaction of its own (computed again
from the run as stored if that changed meanwhile), so one bad write cannot take its neighbours down
with it. A transaction of its own that collides with another (a deadlock) is tried again, three times
in all.

Where the database offers `FencedWrites` (PostgreSQL, whose round trips cost more than the rows), a
write that says how its run was when its writer last committed it has its change computed from that,
without a lock, and saved in one statement if the run is still so; a run found changed (a cancel
requested, the lease lost) goes the locking way, its change computed again from the run as stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import attrs

from wfcore.domain.errors import LeaseLost, TransientConflict
from wfcore.domain.events import RunEvent
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run, StepExecution
from wfcore.ports.persistence import FencedWrites, HeldChange, UnitOfWork
from wfcore.use_cases.common import Services

Change = tuple[Run, list[StepExecution], list[RunEvent]]
Mutation = Callable[[Run], Change]

# Turns of the event loop a flush waits before taking its batch: a finished agent call needs a few
# (the call's task, the wait on it, the run's loop) before its write is queued.
_GATHERING_TURNS = 4
_ALONE_ATTEMPTS = 3


@attrs.define
class _Write:
    run_id: RunId
    token: int
    mutate: Mutation
    outcome: asyncio.Future[Change]
    expected: Run | None = None
    seen: Run | None = None
    change: Change | None = None

    def settle(self, error: BaseException | None = None) -> None:
        if self.outcome.done():  # its writer stopped waiting (cancelled)
            return
        if error is not None:
            self.outcome.set_exception(error)
        else:
            assert self.change is not None
            self.outcome.set_result(self.change)


@attrs.define
class GroupCommit:
    """Commits `write`s; those queued while a commit is prepared or under way share the next one."""

    services: Services
    fenced_writes: FencedWrites | None = None
    _queue: list[_Write] = attrs.field(factory=list, init=False)
    _flusher: asyncio.Task[None] | None = attrs.field(default=None, init=False)

    async def write(self, run_id: RunId, token: int, mutate: Mutation, *, expected: Run | None = None) -> Change:
        """Apply `mutate` to the run as stored, if it is held with `token`, and commit what it returns.

        `expected` is the run as the writer last committed it: with `fenced_writes`, the change is computed
        from it and saved if the run as stored is still so; if it was not, `mutate` is called a second time,
        on the run as stored, and only that change is saved.

        Raises `LeaseLost` when the token is no longer the run's, or what `mutate` or the commit raised.
        """
        outcome = asyncio.get_running_loop().create_future()
        write = _Write(run_id=run_id, token=token, mutate=mutate, outcome=outcome, expected=expected)
        self._queue.append(write)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await write.outcome

    async def _flush(self) -> None:
        batch: list[_Write] = []
        try:
            while self._queue:
                for _ in range(_GATHERING_TURNS):
                    await asyncio.sleep(0)
                batch, self._queue = self._queue, []
                await self._commit_together(batch)
        except BaseException as error:  # cancelled with the process: nobody may wait forever
            for write in (*batch, *self._queue):
                write.settle(error)
            self._queue = []
            raise

    async def _commit_together(self, batch: list[_Write], *, first_try: bool = True) -> None:
        waiting = [write for write in batch if not write.outcome.done()]  # a writer may have stopped waiting
        if first_try and self.fenced_writes is not None:
            waiting = await self._save_unlocked(waiting, self.fenced_writes)
            if not waiting:
                return
        applied: list[_Write] = []
        try:
            async with self.services.uow() as uow:
                stored = await uow.runs.get_many([write.run_id for write in waiting], for_update=True)
                for write in waiting:
                    if _apply(write, stored.get(write.run_id)):
                        applied.append(write)
                await _save(uow, applied)
                await uow.commit()
        except Exception as error:
            if not applied and first_try:
                # Nothing computed yet (a connection found dead, a deadlock on the locks): all of it again, once.
                await self._commit_together(waiting, first_try=False)
                return
            for write in applied:
                await self._commit_alone(write)
            for write in waiting:
                write.settle(error)
            return
        for write in applied:
            write.settle()

    async def _save_unlocked(self, writes: list[_Write], fenced_writes: FencedWrites) -> list[_Write]:
        """Save the changes computed from the runs as last committed here, where the runs are still so.

        Returns the writes left for the locking way: those whose run changed, or that gave no run to start from.
        """
        computed = [write for write in writes if _unlocked_start(write) and _apply(write, write.expected)]
        if computed:
            try:
                saved = await fenced_writes.save_if_unchanged([_held_change(write) for write in computed])
            except Exception:
                for write in computed:
                    await self._commit_alone(write)
            else:
                for write in computed:
                    if write.run_id in saved:
                        write.settle()
                    else:
                        write.seen = write.change = None
        return [write for write in writes if not write.outcome.done()]

    async def _commit_alone(self, write: _Write) -> None:
        """Commit the change computed in a failed shared write, in a transaction of its own.

        `seen` is the run the change was computed from: as stored and locked, or as last committed here. A
        run changed since (a cancel requested) has its change computed again from the run as stored, as the
        locking way does.

        A commit can succeed and still report a failure (the connection lost while it answered): a change
        found stored already is not written twice (its events would be appended again). A transaction
        that collided with another one (`TransientConflict`: a deadlock, a serialization failure) changed
        nothing, and is tried again, up to `_ALONE_ATTEMPTS` times in all.
        """
        for attempt in range(1, _ALONE_ATTEMPTS + 1):
            try:
                await self._try_alone(write)
            except TransientConflict as error:
                if attempt < _ALONE_ATTEMPTS:
                    continue
                write.settle(error)
            except Exception as error:
                write.settle(error)
            return

    async def _try_alone(self, write: _Write) -> None:
        assert write.seen is not None
        assert write.change is not None
        async with self.services.uow() as uow:
            current = await uow.runs.get(write.run_id, for_update=True)
            if await _stored_already(uow, current, write.seen, write.token, write.change):
                write.settle()
                return
            if _without_lease(current) == _without_lease(write.seen) and _held(current, write.token):
                # Kept aside until committed: a try that collides leaves the change as it was computed.
                change = on_current_lease(write.change, write.seen, current)
            elif _apply(write, current):
                change = write.change
            else:
                return  # settled: the lease was lost, or the change cannot be computed now
            await save_changes(uow, [(current, change)])
            await uow.commit()
        write.change = change
        write.settle()


def _apply(write: _Write, stored: Run | None) -> bool:
    """Compute the write's change from the stored run; False (and the write settled) when there is none."""
    if stored is None or not _held(stored, write.token):
        write.settle(LeaseLost(run_id=write.run_id, token=write.token))
        return False
    try:
        write.change = write.mutate(stored)
    except Exception as error:
        write.settle(error)
        return False
    write.seen = stored
    return True


def _unlocked_start(write: _Write) -> bool:
    """Whether the write's change may be computed from the run as its writer last committed it."""
    expected = write.expected
    return expected is not None and _held(expected, write.token) and expected.cancel_requested_at is None


def _held_change(write: _Write) -> HeldChange:
    assert write.seen is not None
    assert write.change is not None
    run, steps, events = write.change
    return HeldChange(expected=write.seen, run=run, steps=steps, events=events)


def _without_lease(run: Run) -> Run:
    return attrs.evolve(run, lease=None)


def on_current_lease(change: Change, seen: Run, current: Run) -> Change:
    """The change with the lease as it is now, unless the change set the lease itself (a release).

    The lease may have been renewed since the change was computed: writing the lease it was computed
    from would take the renewal back.
    """
    run, steps, events = change
    if run.lease == seen.lease:
        run = attrs.evolve(run, lease=current.lease)
    return run, steps, events


async def _stored_already(uow: UnitOfWork, current: Run, seen: Run, token: int, change: Change) -> bool:
    """Whether the change was committed: the run, its lease and its steps are stored as the change has them.

    Runs and steps are compared by their transitions (status, times, attempts), which every change of
    the engine moves and which survive a round trip through any database (JSON numbers may not).
    """
    run, steps, _ = change
    lease = current.lease
    if lease is None or lease.token != token or _run_transition(current) != _run_transition(run):
        return False
    if run.lease != seen.lease:  # the change released the lease: the release must be stored too
        if lease != run.lease:
            return False
    elif lease.owner is None:
        return False
    if not steps:
        return _run_transition(run) != _run_transition(seen)
    stored = {step.step_id: step for step in await uow.runs.steps(run.id)}
    return all(_step_transition(stored.get(step.step_id)) == _step_transition(step) for step in steps)


def _run_transition(run: Run) -> tuple[object, ...]:
    return run.status, run.started_at, run.finished_at


def _step_transition(step: StepExecution | None) -> tuple[object, ...] | None:
    if step is None:
        return None
    return step.status, step.started_at, step.finished_at, len(step.attempts)


def _held(run: Run, token: int) -> bool:
    """Whether the run's lease is held, and with `token` (a released lease keeps its token)."""
    return run.lease is not None and run.lease.owner is not None and run.lease.token == token


async def _save(uow: UnitOfWork, writes: Sequence[_Write]) -> None:
    changes = [(write.seen, write.change) for write in writes]
    await save_changes(uow, [(seen, change) for seen, change in changes if seen is not None and change is not None])


async def save_changes(uow: UnitOfWork, changes: Sequence[tuple[Run, Change]]) -> None:
    """Write each change made to a run as stored (locked, token checked) through `uow`, in three statements."""
    # Most writes change only steps (one finished, the next started): the run's row is left alone then.
    changed_runs = [run for stored, (run, _, _) in changes if run != stored]
    await uow.runs.save_progress(changed_runs, [step for _, (_, steps, _) in changes for step in steps])
    await uow.runs.append_events([event for _, (_, _, events) in changes for event in events])
