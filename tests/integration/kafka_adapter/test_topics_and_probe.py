"""Topics are created when missing, with the configured partitions; the broker check tells up from down."""

from __future__ import annotations

import asyncio

import attrs
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from adapters_kafka.clients import ensure_topics, probe_broker
from fixtures.kafka import TansuBroker
from integration.kafka_adapter.conftest import kafka_settings_on
from wfapp.distributed_health import kafka_readiness_check

pytestmark = pytest.mark.kafka


async def test_missing_topics_are_created_once_with_their_partition_counts(kafka_bootstrap: str) -> None:
    settings = attrs.evolve(kafka_settings_on(kafka_bootstrap, {}), runs_partitions=5, control_partitions=2)

    created = await ensure_topics(settings)
    again = await ensure_topics(settings)

    assert sorted(created) == sorted([settings.runs_topic, settings.control_topic])
    assert again == []
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([settings.runs_topic, settings.control_topic])
    finally:
        await admin.close()
    assert {topic["topic"]: len(topic["partitions"]) for topic in described} == {
        settings.runs_topic: 5,
        settings.control_topic: 2,
    }


async def test_the_broker_check_is_ok_while_the_broker_answers_and_not_once_it_is_down(
    kafka_broker: TansuBroker,
) -> None:
    settings = kafka_settings_on(kafka_broker.bootstrap, {})
    check = kafka_readiness_check(settings)

    up = await check()
    brokers = await probe_broker(settings)
    await asyncio.to_thread(kafka_broker.stop)
    down = await check()

    assert (up.name, up.ok, brokers) == ("broker", True, 1)
    assert (down.name, down.ok) == ("broker", False)
    assert down.detail
