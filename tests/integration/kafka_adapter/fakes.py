"""A stand-in for the worker that the consumer loop feeds: claims live in a dict shared like a database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import attrs
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from adapters_kafka.settings import KafkaSettings
from wfcore.domain.ids import RunId


@attrs.define
class Claims:
    """Which worker holds which run: the compare-and-set `RunRepository.claim` does, in memory."""

    holders: dict[str, str] = attrs.Factory(dict)
    offers: Counter[str] = attrs.Factory(Counter)


@attrs.define
class FakeWorker:
    """A `RunTaker`: `offer` waits while the worker is full (like the semaphore of `Worker`), then claims."""

    name: str
    claims: Claims
    concurrency: int = 16
    in_flight: int = 0
    failures: int = 0
    """The next offers that raise, as when the database is down."""
    takes_slots: bool = False
    """Whether a claimed run keeps one of the `concurrency` slots (until `make_room`)."""
    gate: asyncio.Event = attrs.Factory(asyncio.Event)
    room: asyncio.Condition = attrs.Factory(asyncio.Condition)

    def __attrs_post_init__(self) -> None:
        self.gate.set()

    async def offer(self, run_id: RunId) -> bool:
        self.claims.offers[run_id] += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the database is down")
        await self.gate.wait()
        async with self.room:
            await self.room.wait_for(lambda: self.in_flight < self.concurrency)
        if run_id in self.claims.holders:
            return False
        self.claims.holders[run_id] = self.name
        self.in_flight += self.takes_slots
        return True

    async def make_room(self, in_flight: int) -> None:
        async with self.room:
            self.in_flight = in_flight
            self.room.notify_all()


async def committed(settings: KafkaSettings) -> dict[int, int]:
    """The group's committed offset of each partition of the runs topic that has one."""
    partitions = [TopicPartition(settings.runs_topic, index) for index in range(settings.runs_partitions)]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.group_id, partitions=partitions)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def eventually(condition: Callable[[], bool | Awaitable[bool]], within: float = 20.0) -> None:
    """Wait until `condition()` (sync or async) is true; fail after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            result = condition()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)
