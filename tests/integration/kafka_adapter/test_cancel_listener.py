"""Cancels are broadcast: every listener sees every cancel message of the control topic."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer

from adapters_kafka.codec import encode
from adapters_kafka.control import CancelListener
from adapters_kafka.settings import KafkaSettings
from integration.kafka_adapter.conftest import dispatch
from integration.kafka_adapter.fakes import eventually
from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import DispatchKind

pytestmark = pytest.mark.kafka


async def send(producer: AIOKafkaProducer, topic: str, kind: DispatchKind, run_id: str) -> None:
    message = encode(dispatch(kind, run_id=run_id))
    await producer.send_and_wait(topic, message.value, key=message.key, headers=message.headers)


async def test_every_listener_gets_every_cancel_and_nothing_else(kafka_settings: KafkaSettings) -> None:
    cancelled: dict[str, list[RunId]] = {"a": [], "b": []}
    listeners = [CancelListener(kafka_settings, cancelled[name].append) for name in cancelled]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap, enable_idempotence=False)
    await producer.start()
    for listener in listeners:
        await listener.start()
    topic = kafka_settings.control_topic
    try:
        # Listeners start at the end of the topic: wait until both read what is sent.
        async def both_listening() -> bool:
            await send(producer, topic, DispatchKind.CANCEL, "probe")
            await asyncio.sleep(0.1)
            return all("probe" in runs for runs in cancelled.values())

        await eventually(both_listening)
        await send(producer, topic, DispatchKind.CANCEL, "run-1")
        await send(producer, topic, DispatchKind.START, "run-2")
        await producer.send_and_wait(topic, b"garbage", key=b"run-3")
        await send(producer, topic, DispatchKind.CANCEL, "run-4")
        await eventually(lambda: all("run-4" in runs for runs in cancelled.values()))
    finally:
        await producer.stop()
        for listener in listeners:
            await listener.stop()

    for runs in cancelled.values():
        assert [run_id for run_id in runs if run_id != "probe"] == ["run-1", "run-4"]
