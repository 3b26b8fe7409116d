"""Cancels, broadcast: every worker reads every message of the control topic.

A cancel request is committed in the database before its message is sent; the message only makes
the worker holding the run abort its in-flight agent calls at once. A worker that misses it (down,
or reconnecting) still sees the request at its next lease renewal, which reads the run row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer

from adapters_kafka.backoff import Backoff
from adapters_kafka.clients import create_broadcast_consumer
from adapters_kafka.codec import decode
from adapters_kafka.settings import KafkaSettings
from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import DispatchKind

log = logging.getLogger(__name__)

POLL_MS = 1000


class CancelListener:
    """Calls `cancel(run_id)` (such as `RunEngine.cancel`) for each cancel message on the control topic."""

    def __init__(
        self,
        settings: KafkaSettings,
        cancel: Callable[[RunId], None],
        *,
        consumer_factory: Callable[[KafkaSettings], AIOKafkaConsumer] = create_broadcast_consumer,
    ) -> None:
        self._settings = settings
        self._cancel = cancel
        self._consumer_factory = consumer_factory
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.received = 0
        """Cancel messages handled (for tests and metrics)."""

    async def start(self) -> None:
        """Start reading from the end of the control topic; raises when the broker cannot be reached."""
        consumer = self._consumer_factory(self._settings)
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._task = asyncio.create_task(self._listen(consumer), name="wf-control-listener")

    async def stop(self) -> None:
        """Stop reading cancels and close the consumer."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _listen(self, consumer: AIOKafkaConsumer) -> None:
        backoff = Backoff(initial=0.1, cap=2.0)
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=POLL_MS)
                for records in batches.values():
                    for record in records:
                        self._handle(record)
            except Exception as error:
                log.warning("reading cancels failed (%r); the lease renewal still sees them", error)
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()

    def _handle(self, record: Any) -> None:
        where = f"({record.topic}[{record.partition}]@{record.offset})"
        message = decode(record.value, record.headers, where=where)
        if message is not None and message.kind is DispatchKind.CANCEL:
            self.received += 1
            log.info("cancel of run %s received (request %s)", message.run_id, message.request_id or "-")
            self._cancel(message.run_id)
