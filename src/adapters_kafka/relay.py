"""The outbox relay: publishes the dispatches that use cases committed, then marks them sent.

A use case writes its dispatch to the outbox in the transaction of the change, so a run that got
its 202 is durable whatever the broker does. The relay is also the distributed mode's
`RunDispatcher`: `notify` (called after that commit) wakes it, so a dispatch is usually published
within a millisecond or two; a scan of the outbox finds the rest (those of other processes, those
whose notification was lost, and everything left after a failure). A failed publish marks nothing
sent and is retried with capped exponential backoff, so the backlog drains when the broker returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs

from adapters_kafka.backoff import Backoff
from wfcore.ports.dispatch import Dispatch
from wfcore.use_cases.common import UnitOfWorkFactory

log = logging.getLogger(__name__)

RECENT_IDS = 10_000


class Publisher(Protocol):
    async def publish(self, dispatches: Sequence[Dispatch]) -> None:
        """Return once every dispatch is acknowledged by the broker; raise otherwise."""

    async def close(self) -> None: ...


@attrs.define
class RelayStats:
    """Counters for metrics: messages published, and publish attempts the broker failed (not database errors)."""

    published: int = 0
    publish_failures: int = 0


@attrs.define
class OutboxRelay:
    """Moves outbox rows to the broker, oldest first, in batches of at most `batch_size`."""

    uow: UnitOfWorkFactory
    publisher: Publisher
    batch_size: int = 500
    scan_interval: float = 1.0
    backoff: Backoff = attrs.Factory(Backoff)
    on_publish_failure: Callable[[Exception], None] | None = None
    stats: RelayStats = attrs.Factory(RelayStats)
    _notified: OrderedDict[str, Dispatch] = attrs.field(factory=OrderedDict, init=False)
    _recent: OrderedDict[str, None] = attrs.field(factory=OrderedDict, init=False)
    _wake: asyncio.Event = attrs.field(factory=asyncio.Event, init=False)
    _scan_due: bool = attrs.field(default=True, init=False)
    _task: asyncio.Task[None] | None = attrs.field(default=None, init=False)

    async def notify(self, dispatch: Dispatch) -> None:
        """`RunDispatcher.notify`: the dispatch is committed; publish it soon. Never fails."""
        self._notified[dispatch.id] = dispatch
        self._wake.set()

    async def backlog(self) -> int:
        """Dispatches committed but not yet acknowledged by the broker (the outbox backlog metric)."""
        async with self.uow() as uow:
            return await uow.outbox.backlog()

    def start(self) -> None:
        """Relay in a background task until `stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="wf-outbox-relay")

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop relaying, after one last attempt (at most `drain_seconds`) to publish what is pending."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._scan_due = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(drain_seconds):
                while await self.relay_once():
                    pass
        await self.publisher.close()

    async def run_forever(self) -> None:
        """Relay until cancelled; failures are logged, counted and retried with backoff."""
        while True:
            try:
                moved = await self.relay_once()
            except Exception as error:
                if self.backoff.failures == 0:
                    log.warning("could not relay dispatches (%s); retrying with backoff", error)
                else:
                    log.debug("relaying dispatches failed again: %s", error)
                await asyncio.sleep(self.backoff.next_delay())
                continue
            if self.backoff.failures:
                log.info("relaying dispatches to the broker again after %d failed attempts", self.backoff.failures)
                self.backoff.reset()
            if not moved:
                await self._idle()

    async def relay_once(self) -> int:
        """Publish one batch and mark it sent; returns its size (0 when there was nothing to do)."""
        batch = self._take_notified()
        if self._scan_due or not batch:
            batch = await self._scan(batch)
        if not batch:
            return 0
        try:
            await self.publisher.publish(list(batch.values()))
        except Exception as error:
            self._scan_due = True  # the notified dispatches are in the outbox: the scan finds them again
            self.stats.publish_failures += 1
            if self.on_publish_failure is not None:
                self.on_publish_failure(error)
            raise
        async with self.uow() as uow:
            await uow.outbox.mark_sent(list(batch))
            await uow.commit()
        self._remember(batch)
        self.stats.published += len(batch)
        return len(batch)

    def _take_notified(self) -> OrderedDict[str, Dispatch]:
        batch: OrderedDict[str, Dispatch] = OrderedDict()
        while self._notified and len(batch) < self.batch_size:
            dispatch_id, dispatch = self._notified.popitem(last=False)
            if dispatch_id not in self._recent:
                batch[dispatch_id] = dispatch
        return batch

    async def _scan(self, batch: OrderedDict[str, Dispatch]) -> OrderedDict[str, Dispatch]:
        """`batch` with the oldest pending dispatches of the outbox added, up to `batch_size` in all."""
        room = self.batch_size - len(batch)
        if room <= 0:
            return batch
        async with self.uow() as uow:
            pending = await uow.outbox.pending(limit=room)
        self._scan_due = len(pending) == room
        scanned: OrderedDict[str, Dispatch] = OrderedDict()
        for dispatch in pending:
            if dispatch.id not in self._recent:
                scanned[dispatch.id] = dispatch
                self._notified.pop(dispatch.id, None)
        for dispatch_id, dispatch in batch.items():
            scanned.setdefault(dispatch_id, dispatch)
        return scanned

    def _remember(self, batch: OrderedDict[str, Dispatch]) -> None:
        """Ids just sent, so that a notification or scan racing with this batch does not send them again."""
        for dispatch_id in batch:
            self._recent[dispatch_id] = None
        while len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)

    async def _idle(self) -> None:
        self._wake.clear()
        if self._notified:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), self.scan_interval)
        except TimeoutError:
            self._scan_due = True
