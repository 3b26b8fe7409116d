"""The worker loop: runs from the runs topic, offered to the worker, committed only once claimed.

Two tasks share the work. The poll task keeps the consumer alive: it fetches records into a small
buffer (as many as the worker runs at once), pauses every partition once the buffer is full (so
heartbeats and the poll interval are never starved by a busy worker) and resumes them once it is half
empty. A busy worker keeps its buffer filled, so that a run finishing makes room for the next one at
once, not after a fetch: pausing while the worker was full left each freed slot empty for up to a
paused poll and a fetch, about 60 ms, which kept a worker of 16 runs well below what it can do. Resuming
only at half, not at the first free slot, lets a full worker's next fetch bring up to half a buffer of
runs, not one run for each that finished. The feed task
takes the buffered records in order and calls `offer(run_id)`, which returns once the run is
claimed in the database (or found finished, or held by someone else); only then does the record's
offset count as done, and done offsets are committed in order per partition. Agent calls never run
in either task: `offer` starts the run in a task of its own.

A rebalance loses nothing and doubles nothing: the claim is in the database, so a record
redelivered to another worker finds its run held or finished. On revoke, the offsets of what was
claimed are committed and the records not yet offered are dropped (their new owner reads them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeAlias

import attrs
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from adapters_kafka.backoff import Backoff
from adapters_kafka.clients import create_group_consumer
from adapters_kafka.codec import decode
from adapters_kafka.settings import KafkaSettings
from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import DispatchKind

log = logging.getLogger(__name__)

PAUSED_POLL_MS = 50
IDLE_POLL_MS = 500
COMMIT_EVERY = 100

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


class RunTaker(Protocol):
    """What the loop feeds: `wfcore.use_cases.worker.Worker` is one."""

    concurrency: int

    async def offer(self, run_id: RunId) -> bool:
        """Return once the run is claimed here (True) or found finished or held elsewhere (False)."""


@attrs.define
class _Offsets:
    """Per partition: the next offset to commit (everything before it was claimed) and what was committed."""

    done: dict[TopicPartition, int] = attrs.Factory(dict)
    committed: dict[TopicPartition, int] = attrs.Factory(dict)

    def advance(self, record: Record) -> None:
        self.done[TopicPartition(record.topic, record.partition)] = record.offset + 1

    def uncommitted(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {
            tp: self.done[tp] for tp in partitions if tp in self.done and self.done[tp] > self.committed.get(tp, -1)
        }

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            self.done.pop(tp, None)
            self.committed.pop(tp, None)


class RunConsumer(ConsumerRebalanceListener):  # type: ignore[misc]
    """Feeds runs from the runs topic to a `RunTaker`, as a member of the workers' consumer group.

    `request_context(request_id)`, when given, is entered around each offer with the request id of the
    message's header, so that the run's task, created during the offer, carries it (for log lines).
    """

    def __init__(
        self,
        settings: KafkaSettings,
        taker: RunTaker,
        *,
        consumer_factory: Callable[..., AIOKafkaConsumer] = create_group_consumer,
        buffer_limit: int | None = None,
        offer_backoff: Backoff | None = None,
        request_context: Callable[[str | None], AbstractContextManager[object]] | None = None,
    ) -> None:
        self._settings = settings
        self._taker = taker
        self._consumer_factory = consumer_factory
        self._buffer_limit = buffer_limit or max(1, taker.concurrency)
        self._offer_backoff = offer_backoff or Backoff(initial=0.05, cap=2.0)
        self._request_context = request_context or (lambda _: contextlib.nullcontext())
        self._consumer: AIOKafkaConsumer | None = None
        self._buffer: deque[Record] = deque()
        self._offsets = _Offsets()
        self._buffered = asyncio.Event()
        self._fetching = True
        self._stopping = False
        self._epoch = 0
        self._since_commit = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.claimed = 0
        """Records whose run this worker claimed (for tests and metrics)."""

    @property
    def started(self) -> bool:
        """Whether it is consuming (started, not stopped)."""
        return self._consumer is not None and bool(self._tasks) and not self._stopping

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The aiokafka consumer; `RuntimeError` before `start`."""
        if self._consumer is None:
            raise RuntimeError("the run consumer is not started")
        return self._consumer

    async def start(self) -> None:
        """Join the group and start polling and feeding; raises when the broker cannot be reached."""
        consumer = self._consumer_factory(self._settings)
        consumer.subscribe([self._settings.runs_topic], listener=self)
        self._consumer = consumer  # the listener may be called while it starts
        try:
            await consumer.start()
        except BaseException:
            self._consumer = None
            await consumer.stop()
            raise
        self._tasks = [
            asyncio.create_task(self._poll(), name="wf-runs-poll"),
            asyncio.create_task(self._feed(), name="wf-runs-feed"),
        ]

    async def stop(self, offer_seconds: float = 5.0) -> None:
        """Stop taking runs: finish the offer under way (up to `offer_seconds`), commit, leave the group."""
        self._stopping = True
        self._buffered.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=offer_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._commit()
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None

    async def _forever(self, what: str, step: Callable[[], Awaitable[None]]) -> None:
        """Call `step` until stopped; an error is logged and retried with backoff, never ends the loop."""
        backoff = Backoff(initial=0.05, cap=2.0)
        while not self._stopping:
            try:
                await step()
            except Exception as error:
                delay = backoff.next_delay()
                log.warning("%s failed (%r); trying again in %.2f s", what, error, delay)
                await asyncio.sleep(delay)
            else:
                backoff.reset()

    # The poll task

    async def _poll(self) -> None:
        await self._forever("fetching runs", self._poll_once)

    async def _poll_once(self) -> None:
        consumer = self.consumer
        buffered = len(self._buffer)
        if buffered >= self._buffer_limit:
            self._fetching = False
        elif buffered <= self._buffer_limit // 2:
            self._fetching = True
        self._pace(consumer)
        room = max(self._buffer_limit - buffered, 1)
        timeout_ms = IDLE_POLL_MS if self._fetching else PAUSED_POLL_MS
        batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=room)
        for records in batches.values():
            self._buffer.extend(records)
        if self._buffer:
            self._buffered.set()

    def _pace(self, consumer: AIOKafkaConsumer) -> None:
        assigned = consumer.assignment()
        if not self._fetching:
            consumer.pause(*(assigned - consumer.paused()))
        elif consumer.paused():
            consumer.resume(*consumer.paused())

    # The feed task

    async def _feed(self) -> None:
        await self._forever("offering runs", self._feed_once)

    async def _feed_once(self) -> None:
        if not self._buffer:
            await self._commit_quietly()
            self._buffered.clear()
            await self._buffered.wait()
            return
        record = self._buffer.popleft()
        epoch = self._epoch
        try:
            taken = await self._take(record)
        except BaseException:
            if epoch == self._epoch:
                self._buffer.appendleft(record)  # not answered: it must not be skipped
            raise
        if taken and epoch == self._epoch:
            self._offsets.advance(record)
            self._since_commit += 1
            if not self._buffer or self._since_commit >= COMMIT_EVERY:
                await self._commit_quietly()

    async def _take(self, record: Record) -> bool:
        """Offer the record's run until the offer is answered; False when stopping or the record was revoked."""
        where = f"({record.topic}[{record.partition}]@{record.offset})"
        message = decode(record.value, record.headers, where=where)
        if message is None:
            return True
        if message.kind is not DispatchKind.START:
            log.warning("skipping a %s message on the runs topic %s", message.kind.value, where)
            return True
        epoch = self._epoch
        while not self._stopping and epoch == self._epoch:
            try:
                # The run's task is created inside `offer` and inherits this context (its log lines' request id).
                with self._request_context(message.request_id):
                    claimed = await self._taker.offer(message.run_id)
            except Exception as error:
                delay = self._offer_backoff.next_delay()
                log.warning("could not take run %s (%s); trying again in %.2f s", message.run_id, error, delay)
                await asyncio.sleep(delay)
                continue
            self._offer_backoff.reset()
            if claimed:
                self.claimed += 1
                log.debug("claimed run %s %s request %s", message.run_id, where, message.request_id or "-")
            return True
        return False

    async def _commit_quietly(self) -> None:
        try:
            await self._commit()
        except KafkaError as error:
            # The offsets stay due; a redelivered record finds its run claimed, so this only costs a lookup.
            log.info("committing consumed offsets failed (%s); they are committed later", error)

    async def _commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        consumer = self.consumer
        due = self._offsets.uncommitted(consumer.assignment() if partitions is None else partitions)
        if not due:
            return
        self._since_commit = 0
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in due.items()})
        self._offsets.committed.update(due)

    # The rebalance listener

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Commit what was claimed on the revoked partitions; drop their records not yet offered."""
        revoked = set(revoked)
        self._epoch += 1
        self._buffer = deque(record for record in self._buffer if _partition(record) not in revoked)
        try:
            await self._commit(revoked)
        except KafkaError as error:
            log.info("could not commit before the rebalance (%s); the next owner re-reads those runs", error)
        self._offsets.forget(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        """Nothing to load: positions come from the group's committed offsets."""
        log.info("taking runs from %d partitions of %s", len(assigned), self._settings.runs_topic)


def _partition(record: Record) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)
