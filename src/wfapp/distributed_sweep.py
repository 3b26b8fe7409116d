"""The distributed mode's sweep: the safety net under the broker.

Every worker looks, now and then, for runs nobody executes: running runs whose lease expired or was
released (their worker died or stopped), and pending runs old enough that their message must have
been lost (a broker that came back empty, a dispatch lost before the relay sent it). A fresh pending
run is left to the broker, whose message is on its way: taking it here would only race the consumer.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import attrs

from wfcore.use_cases.common import Services
from wfcore.use_cases.worker import Worker

log = logging.getLogger(__name__)


@attrs.define
class Sweep:
    """Offers the worker the runs waiting for one, as `Worker.sweep_once` does, minus fresh pending runs."""

    worker: Worker
    services: Services
    interval: float = 2.0
    pending_after: float = 30.0

    async def sweep_once(self) -> int:
        """Offer every run due; returns how many this worker took."""
        free = self.worker.concurrency - self.worker.in_flight
        if free <= 0:
            return 0
        now = self.services.clock.now()
        cutoff = now - timedelta(seconds=self.pending_after)
        async with self.services.uow() as uow:
            waiting = await uow.runs.claimable(now=now, limit=self.worker.concurrency * 4, pending_before=cutoff)
        taken = 0
        for run_id in waiting:
            if self.worker.in_flight >= self.worker.concurrency:
                break
            taken += await self.worker.offer(run_id)
        return taken

    async def sweep_forever(self) -> None:
        """Sweep every `interval` seconds until cancelled (each round is the worker's heartbeat metric)."""
        while True:
            self.worker.engine.telemetry.worker_alive()
            try:
                taken = await self.sweep_once()
                if taken:
                    log.info("took over %d runs that no worker was executing", taken)
            except Exception:
                log.exception("the sweep for waiting runs failed; trying again in %.1f s", self.interval)
            await asyncio.sleep(self.interval)
