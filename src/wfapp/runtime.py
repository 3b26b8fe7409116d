"""The embedded mode's workers: in the same process as the API, fed by the in-process dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import attrs

from adapters_memory.dispatcher import InProcessDispatcher
from wfapp.outbox_pruning import prune_outbox_forever
from wfcore.ports.persistence import UnitOfWork
from wfcore.use_cases.common import UnitOfWorkFactory
from wfcore.use_cases.engine import RunEngine
from wfcore.use_cases.worker import Worker

log = logging.getLogger(__name__)

OUTBOX_BATCH = 500


@attrs.define
class EmbeddedWorkers:
    """Runs dispatched in this process go straight to the local worker; a sweep finds the rest.

    The outbox rows the use cases write are marked sent in batches: in this mode the notification
    already reached the worker, and a run whose notification was lost (a crash) is found by the
    sweep, which takes pending runs and runs whose lease expired.
    """

    dispatcher: InProcessDispatcher
    engine: RunEngine
    worker: Worker
    uow: UnitOfWorkFactory
    outbox_interval: float = 1.0
    _tasks: list[asyncio.Task[None]] = attrs.field(factory=list, init=False)

    async def start(self) -> None:
        self.dispatcher.on_cancel(self.engine.cancel)
        self._tasks = [
            asyncio.create_task(self._consume(), name="wf-dispatch-consumer"),
            asyncio.create_task(self.worker.sweep_forever(), name="wf-sweeper"),
            asyncio.create_task(self._mark_outbox_sent(), name="wf-outbox"),
            asyncio.create_task(prune_outbox_forever(self.uow), name="wf-outbox-pruning"),
        ]

    async def stop(self, grace_seconds: float) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.worker.stop(grace_seconds)

    async def _consume(self) -> None:
        while True:
            run_id = await self.dispatcher.next_run()
            try:
                await self.worker.offer(run_id)
            except Exception:
                log.exception("could not take run %s; the sweep will offer it again", run_id)

    async def _mark_outbox_sent(self) -> None:
        while True:
            try:
                async with self.uow() as uow:
                    await _drain(uow)
            except Exception:
                log.exception("could not mark dispatches sent; trying again")
            await asyncio.sleep(self.outbox_interval)


async def _drain(uow: UnitOfWork) -> None:
    pending = await uow.outbox.pending(limit=OUTBOX_BATCH)
    if pending:
        await uow.outbox.mark_sent([dispatch.id for dispatch in pending])
        await uow.commit()
