"""The test broker speaks enough Kafka for wf: topics, keyed messages with headers, consumer groups, commits."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from fixtures.kafka import TansuBroker, answers_kafka

pytestmark = pytest.mark.kafka

PARTITIONS = 3


async def create_topic(bootstrap: str, partitions: int) -> str:
    topic = f"smoke-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return topic


async def produce(bootstrap: str, topic: str, messages: list[tuple[str, str]]) -> None:
    """Send (key, value) pairs in order, each with an x-request-id header naming its value."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(
                topic, value.encode(), key=key.encode(), headers=[("x-request-id", f"req-{value}".encode())]
            )
    finally:
        await producer.stop()


def group_consumer(bootstrap: str, topic: str, group: str, timeouts: dict[str, int]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **timeouts,
    )


async def consume(consumer: AIOKafkaConsumer, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    """The next `count` records, then whatever else arrives within half a second (there should be none)."""
    records: list[ConsumerRecord[bytes, bytes]] = []
    async with asyncio.timeout(30):
        while len(records) < count:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    for batch in (await consumer.getmany(timeout_ms=500)).values():
        records.extend(batch)
    return records


async def test_a_group_consumes_keyed_messages_and_resumes_after_its_commit(
    kafka_bootstrap: str, kafka_group_timeouts: dict[str, int]
) -> None:
    topic = await create_topic(kafka_bootstrap, partitions=PARTITIONS)
    group = f"workers-{uuid.uuid4().hex[:8]}"
    first = [(f"run-{index % 4}", f"first-{index}") for index in range(8)]
    second = [(f"run-{index % 4}", f"second-{index}") for index in range(4)]
    await produce(kafka_bootstrap, topic, first)

    consumer = group_consumer(kafka_bootstrap, topic, group, kafka_group_timeouts)
    await consumer.start()
    try:
        consumed = await consume(consumer, len(first))
        await consumer.commit()
    finally:
        await consumer.stop()
    await produce(kafka_bootstrap, topic, second)
    resumed_consumer = group_consumer(kafka_bootstrap, topic, group, kafka_group_timeouts)
    await resumed_consumer.start()
    try:
        resumed = await consume(resumed_consumer, len(second))
        committed = {partition: await resumed_consumer.committed(partition) for partition in consumer_partitions(topic)}
    finally:
        await resumed_consumer.stop()

    assert sorted(pairs(consumed)) == sorted(first)
    assert sorted(pairs(resumed)) == sorted(second)
    assert all(record.headers == (("x-request-id", b"req-" + record.value),) for record in consumed + resumed)
    partitions_by_key: dict[bytes, set[int]] = defaultdict(set)
    for record in consumed + resumed:
        partitions_by_key[record.key].add(record.partition)
    assert all(len(partitions) == 1 for partitions in partitions_by_key.values())
    for key, _ in first:
        in_order = [record.value.decode() for record in consumed + resumed if record.key == key.encode()]
        assert in_order == [value for pair_key, value in first + second if pair_key == key]
    assert sum(offset or 0 for offset in committed.values()) == len(first)


def consumer_partitions(topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, partition) for partition in range(PARTITIONS)]


def pairs(records: list[ConsumerRecord[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(record.key.decode(), record.value.decode()) for record in records]


async def test_the_broker_can_be_stopped_and_started_on_the_same_port(
    kafka_broker: TansuBroker, kafka_group_timeouts: dict[str, int]
) -> None:
    port = kafka_broker.port

    await asyncio.to_thread(kafka_broker.stop)
    down = answers_kafka("127.0.0.1", port)
    await asyncio.to_thread(kafka_broker.start)

    assert not down
    assert kafka_broker.port == port
    topic = await create_topic(kafka_broker.bootstrap, partitions=1)
    await produce(kafka_broker.bootstrap, topic, [("run-1", "after-restart")])
    consumer = group_consumer(kafka_broker.bootstrap, topic, "after-restart", kafka_group_timeouts)
    await consumer.start()
    try:
        assert pairs(await consume(consumer, 1)) == [("run-1", "after-restart")]
    finally:
        await consumer.stop()
