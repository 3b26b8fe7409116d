"""A worker: runs claimed runs concurrently up to a limit, and sweeps for runs nobody is executing."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import attrs

from wfcore.domain.errors import ServiceUnavailable, TransientConflict
from wfcore.domain.ids import RunId
from wfcore.use_cases.engine import RunEngine, RunExecution

log = logging.getLogger(__name__)


@attrs.define
class Worker:
    """Drives the engine. `offer` hands it a run id (from a queue, a broker or a sweep).

    A run is claimed before `offer` returns, so a caller that acknowledges a message afterwards
    knows the run is durably held (or finished, or held by another worker).
    """

    engine: RunEngine
    concurrency: int = 16
    sweep_interval: float = 2.0
    _tasks: set[asyncio.Task[None]] = attrs.field(factory=set, init=False)
    _slots: asyncio.Semaphore | None = attrs.field(default=None, init=False)
    _stopping: bool = attrs.field(default=False, init=False)
    # Runs offered again while driven here: a retry committed meanwhile, taken again when the drive ends.
    _noticed: set[RunId] = attrs.field(factory=set, init=False)

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        return self._slots

    async def offer(self, run_id: RunId) -> bool:
        """Claim and start the run when a slot is free (waiting for one); False if not taken here."""
        if self._stopping:
            return False
        if await self.engine.holds(run_id):
            self._noticed.add(run_id)
            return False
        slots = self._semaphore()
        await slots.acquire()
        try:
            execution = await self.engine.claim(run_id)
        except BaseException:
            slots.release()
            raise
        if execution is None:
            slots.release()
            return False
        task = asyncio.create_task(self._drive(execution))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _drive(self, execution: RunExecution) -> None:
        run_id = execution.run.id
        try:
            current: RunExecution | None = execution
            while current is not None:
                await current.drive()
                noticed = run_id in self._noticed
                self._noticed.discard(run_id)
                # None when it is finished (the retry was not committed after all) or held elsewhere.
                current = await self.engine.claim(run_id) if noticed and not self._stopping else None
        except (ServiceUnavailable, TransientConflict) as error:
            # Expected while the database restarts or under contention: a line, not a traceback for every run.
            log.warning("run %s stopped: %s; it is picked up again by a sweep", run_id, error)
        except Exception:
            log.exception("run %s stopped on an unexpected error; it is picked up again by a sweep", run_id)
        finally:
            self._noticed.discard(run_id)
            self._semaphore().release()

    async def sweep_once(self) -> int:
        """Offer every run that waits for a worker: never picked up, or whose lease expired."""
        now = self.engine.services.clock.now()
        async with self.engine.services.uow() as uow:
            waiting = await uow.runs.claimable(now=now, limit=self.concurrency * 4)
        taken = 0
        for run_id in waiting:
            if self._stopping:
                break
            taken += await self.offer(run_id)
        return taken

    async def sweep_forever(self) -> None:
        while not self._stopping:
            self.engine.telemetry.worker_alive()
            try:
                await self.sweep_once()
            except Exception:
                log.exception("the sweep for waiting runs failed; trying again in %.1f s", self.sweep_interval)
            await self.engine.services.clock.sleep(self.sweep_interval)

    async def stop(self, grace_seconds: float) -> None:
        """Stop taking runs; wait up to `grace_seconds` for those in flight, then abandon them.

        An abandoned run keeps its committed progress and is taken over once its lease expires
        (its lease is released right away, so another worker takes it at its next sweep).
        """
        self._stopping = True
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    @property
    def in_flight(self) -> int:
        return len(self._tasks)
