"""The worker loop on the runs topic: offsets are committed only once runs are claimed, in order, and a
full worker pauses its partitions instead of blocking; rebalances lose nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar

import attrs
import pytest
from aiokafka import AIOKafkaProducer

from adapters_kafka.clients import ensure_topics
from adapters_kafka.codec import encode
from adapters_kafka.consumer import RunConsumer
from adapters_kafka.settings import KafkaSettings
from integration.kafka_adapter.conftest import dispatch, kafka_settings_on
from integration.kafka_adapter.fakes import Claims, FakeWorker, committed, eventually
from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import DispatchKind

pytestmark = pytest.mark.kafka


@pytest.fixture
async def single_partition(kafka_bootstrap: str, kafka_group_timeouts: dict[str, int]) -> KafkaSettings:
    """Settings whose runs topic has one partition, so that messages keep one order."""
    settings = attrs.evolve(kafka_settings_on(kafka_bootstrap, kafka_group_timeouts), runs_partitions=1)
    await ensure_topics(settings)
    return settings


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    started = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=False)
    await started.start()
    yield started
    await started.stop()


@attrs.define
class Consumers:
    """Starts run consumers for a test and stops them all after it."""

    settings: KafkaSettings
    started: list[RunConsumer] = attrs.Factory(list)

    async def start(self, worker: FakeWorker) -> RunConsumer:
        consumer = RunConsumer(self.settings, worker)
        await consumer.start()
        self.started.append(consumer)
        return consumer


@pytest.fixture
async def consumers(single_partition: KafkaSettings) -> AsyncIterator[Consumers]:
    made = Consumers(single_partition)
    yield made
    for consumer in made.started:
        await consumer.stop()


async def publish_starts(producer: AIOKafkaProducer, settings: KafkaSettings, count: int) -> list[str]:
    run_ids = []
    for _ in range(count):
        message = encode(dispatch())
        await producer.send_and_wait(settings.runs_topic, message.value, key=message.key, headers=message.headers)
        run_ids.append(message.key.decode())
    return run_ids


async def test_an_offset_is_committed_only_once_its_run_is_claimed(
    consumers: Consumers, producer: AIOKafkaProducer
) -> None:
    settings = consumers.settings
    claims = Claims()
    worker = FakeWorker("w1", claims)
    worker.gate.clear()
    await consumers.start(worker)

    [run_id] = await publish_starts(producer, settings, 1)
    await eventually(lambda: claims.offers[run_id] == 1)
    await asyncio.sleep(0.5)  # time enough for a commit, were one made before the claim
    before_claim = await committed(settings)
    worker.gate.set()
    await eventually(lambda: claims.holders.get(run_id) == "w1")
    await eventually(lambda: _committed_is(settings, {0: 1}))

    assert before_claim.get(0, -1) <= 0


async def _committed_is(settings: KafkaSettings, expected: dict[int, int]) -> bool:
    return await committed(settings) == expected


async def test_an_offer_that_fails_is_retried_and_the_next_message_waits_for_it(
    consumers: Consumers, producer: AIOKafkaProducer
) -> None:
    settings = consumers.settings
    claims = Claims()
    await consumers.start(FakeWorker("w1", claims, failures=2))

    first, second = await publish_starts(producer, settings, 2)
    await eventually(lambda: {first, second} <= set(claims.holders))
    await eventually(lambda: _committed_is(settings, {0: 2}))

    assert claims.offers == {first: 3, second: 1}


async def test_malformed_and_misplaced_messages_are_skipped_and_committed(
    consumers: Consumers, producer: AIOKafkaProducer
) -> None:
    settings = consumers.settings
    claims = Claims()
    await consumers.start(FakeWorker("w1", claims))

    await producer.send_and_wait(settings.runs_topic, b"{not json", key=b"x")
    cancel = encode(dispatch(DispatchKind.CANCEL))
    await producer.send_and_wait(settings.runs_topic, cancel.value, key=cancel.key)
    [run_id] = await publish_starts(producer, settings, 1)
    await eventually(lambda: _committed_is(settings, {0: 3}))

    assert dict(claims.offers) == {run_id: 1}


async def test_a_full_worker_buffers_what_it_runs_at_once_then_pauses_and_takes_the_rest_when_it_has_room(
    consumers: Consumers, producer: AIOKafkaProducer
) -> None:
    settings = consumers.settings
    claims = Claims()
    worker = FakeWorker("w1", claims, concurrency=2, in_flight=2)
    consumer = await consumers.start(worker)
    await eventually(lambda: bool(consumer.consumer.assignment()))

    run_ids = await publish_starts(producer, settings, 6)
    await eventually(lambda: consumer.consumer.paused() == consumer.consumer.assignment())
    await asyncio.sleep(0.5)  # were it not paused, it would fetch and offer more meanwhile
    offered_while_full = sum(claims.offers.values())
    fetched_while_full = await fetched(consumer)
    await worker.make_room(0)
    await eventually(lambda: set(claims.holders) == set(run_ids))

    assert offered_while_full <= 1  # the one offer waiting for room, as `Worker.offer` waits for a slot
    # Ready for the slots that free up: the record being offered, and a buffer as large as the concurrency.
    assert fetched_while_full == 3
    assert not consumer.consumer.paused()


async def test_a_full_buffer_is_fetched_again_only_once_half_of_it_was_taken(
    consumers: Consumers, producer: AIOKafkaProducer
) -> None:
    claims = Claims()
    worker = FakeWorker("w1", claims, concurrency=4, in_flight=4, takes_slots=True)
    consumer = await consumers.start(worker)
    await eventually(lambda: bool(consumer.consumer.assignment()))
    await publish_starts(producer, consumers.settings, 1)
    await eventually(lambda: len(claims.offers) == 1)  # offered, and waiting for room: the buffer is empty
    await publish_starts(producer, consumers.settings, 11)
    await eventually(lambda: consumer.consumer.paused() == consumer.consumer.assignment())
    assert await fetched(consumer) == 5  # the record being offered, and a full buffer of 4

    await worker.make_room(3)  # one run taken: 3 left in the buffer, more than half of it
    await eventually(lambda: len(claims.holders) == 1)
    await asyncio.sleep(0.5)  # were it fetching, it would have fetched meanwhile
    assert await fetched(consumer) == 5

    await worker.make_room(3)  # another: 2 left, half of it
    await eventually(lambda: len(claims.holders) == 2)
    await eventually(lambda: _fetched_is(consumer, 7))  # filled again: 1 offered and 4 buffered, 5 claimed or waiting


async def _fetched_is(consumer: RunConsumer, count: int) -> bool:
    return await fetched(consumer) == count


async def fetched(consumer: RunConsumer) -> int:
    """How many records the consumer has fetched: the positions of its partitions (each starts at 0)."""
    return sum([await consumer.consumer.position(partition) for partition in consumer.consumer.assignment()])


async def test_runs_are_neither_lost_nor_doubled_when_consumers_join_and_leave(
    kafka_settings: KafkaSettings, producer: AIOKafkaProducer
) -> None:
    claims = Claims()
    first = RunConsumer(kafka_settings, FakeWorker("first", claims))
    second = RunConsumer(kafka_settings, FakeWorker("second", claims))
    await first.start()
    try:
        early = await publish_starts(producer, kafka_settings, 30)
        await eventually(lambda: len(claims.holders) >= 10)
        await second.start()
        middle = await publish_starts(producer, kafka_settings, 30)
        await eventually(lambda: set(claims.holders) >= set(early + middle))
        await first.stop()
        late = await publish_starts(producer, kafka_settings, 30)
        await eventually(lambda: set(claims.holders) == set(early + middle + late), within=30)
        await eventually(lambda: _all_committed(kafka_settings, 90))
    finally:
        await first.stop()
        await second.stop()

    assert max(claims.offers.values()) <= 2  # a message is redelivered at most once, after a rebalance
    assert {claims.holders[run_id] for run_id in late} == {"second"}
    assert first.claimed + second.claimed == 90


async def _all_committed(settings: KafkaSettings, count: int) -> bool:
    return sum((await committed(settings)).values()) == count


async def test_each_offer_runs_in_the_context_of_its_message_request_id(
    single_partition: KafkaSettings, producer: AIOKafkaProducer
) -> None:
    request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
    seen: dict[str, str | None] = {}

    @contextlib.contextmanager
    def bound(value: str | None) -> Iterator[None]:
        token = request_id.set(value)
        try:
            yield
        finally:
            request_id.reset(token)

    class Recording(FakeWorker):
        async def offer(self, run_id: RunId) -> bool:
            seen[run_id] = request_id.get()
            return await super().offer(run_id)

    consumer = RunConsumer(single_partition, Recording("w1", Claims()), request_context=bound)
    await consumer.start()
    try:
        with_id, without_id = encode(dispatch(request_id="req-42")), encode(dispatch())
        for message in (with_id, without_id):
            await producer.send_and_wait(
                single_partition.runs_topic, message.value, key=message.key, headers=message.headers
            )
        await eventually(lambda: len(seen) == 2)
    finally:
        await consumer.stop()

    assert seen == {with_id.key.decode(): "req-42", without_id.key.decode(): None}
    assert request_id.get() is None
