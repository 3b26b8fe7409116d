"""The aiokafka clients wf uses, built from `KafkaSettings`: one place knows their options."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient

from adapters_kafka.settings import KafkaSettings

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36
CONTROL_FETCH_MAX_WAIT_MS = 100
"""Cancels need not be as quick as starts (the contract gives 2 s); a longer fetch wait polls 10x less."""


class TopicError(RuntimeError):
    """The broker refused to create a topic wf needs."""


async def ensure_topics(settings: KafkaSettings) -> list[str]:
    """Create the runs and control topics when missing; returns the names created.

    Safe to call from many processes at once: a topic created meanwhile by another is fine.
    """
    wanted = {settings.runs_topic: settings.runs_partitions, settings.control_topic: settings.control_partitions}
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap,
        client_id=f"{settings.client_id}-admin",
        request_timeout_ms=settings.request_timeout_ms,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=partitions, replication_factor=settings.replication_factor)
            for name, partitions in wanted.items()
            if name not in existing
        ]
        if not missing:
            return []
        response = await admin.create_topics(missing, timeout_ms=settings.request_timeout_ms)
    finally:
        await admin.close()
    created: list[str] = []
    for result in response.to_object()["topic_errors"]:
        if result["error_code"] == 0:
            created.append(result["topic"])
        elif result["error_code"] != TOPIC_ALREADY_EXISTS:
            raise TopicError(f"could not create topic {result['topic']!r}: {result['error_message']}")
    if created:
        log.info("created Kafka topics %s", ", ".join(created))
    return created


def create_producer(settings: KafkaSettings) -> AIOKafkaProducer:
    """A producer that waits for every in-sync replica (acks=all) before a send counts as done."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap,
        client_id=f"{settings.client_id}-relay",
        acks="all",
        enable_idempotence=settings.enable_idempotence,
        linger_ms=settings.linger_ms,
        request_timeout_ms=settings.request_timeout_ms,
        metadata_max_age_ms=settings.metadata_max_age_ms,
    )


def create_group_consumer(settings: KafkaSettings, **options: Any) -> AIOKafkaConsumer:
    """A consumer of the workers' group, with manual commits; the caller subscribes it to the runs topic."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        client_id=f"{settings.client_id}-worker",
        group_id=settings.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        max_poll_records=settings.max_poll_records,
        request_timeout_ms=max(settings.request_timeout_ms, settings.session_timeout_ms + 1000),
        metadata_max_age_ms=settings.metadata_max_age_ms,
        **settings.group_timeouts(),
        **options,
    )


def create_broadcast_consumer(settings: KafkaSettings) -> AIOKafkaConsumer:
    """A consumer of every partition of the control topic, from its end, in no group.

    Each worker must see every cancel, so none shares a group; with no group there is no join to
    wait for and no offset to commit (a cancel missed while down is found in the database instead).
    """
    return AIOKafkaConsumer(
        settings.control_topic,
        bootstrap_servers=settings.bootstrap,
        client_id=f"{settings.client_id}-control",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        fetch_max_wait_ms=max(settings.fetch_max_wait_ms, CONTROL_FETCH_MAX_WAIT_MS),
        request_timeout_ms=settings.request_timeout_ms,
        metadata_max_age_ms=settings.metadata_max_age_ms,
    )


async def probe_broker(settings: KafkaSettings) -> int:
    """Connect to the cluster and fetch its metadata; returns the number of brokers that answered.

    Raises the client's error (a `KafkaConnectionError`...) when no broker can be reached.
    """
    client = AIOKafkaClient(
        bootstrap_servers=settings.bootstrap,
        client_id=f"{settings.client_id}-probe",
        request_timeout_ms=settings.request_timeout_ms,
    )
    try:
        await client.bootstrap()
        return len(client.cluster.brokers())
    finally:
        await client.close()
