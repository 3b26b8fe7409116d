"""Kafka adapter tests: settings with topics and a group of the test's own, on the session's broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from adapters_db.engine import create_database
from adapters_db.unit_of_work import SqlUnitOfWorkFactory
from adapters_kafka.clients import ensure_topics
from adapters_kafka.settings import KafkaSettings
from wfapp.secrets import secret_box_for
from wfapp.settings import Settings
from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import Dispatch, DispatchKind

PARTITIONS = 3


def kafka_settings_on(bootstrap: str, timeouts: dict[str, int]) -> KafkaSettings:
    """Settings with fresh topic and group names, and the fixture's quick group timeouts."""
    suffix = uuid.uuid4().hex[:10]
    return KafkaSettings(
        bootstrap_servers=(bootstrap,),
        runs_topic=f"runs-{suffix}",
        control_topic=f"control-{suffix}",
        runs_partitions=PARTITIONS,
        group_id=f"group-{suffix}",
        request_timeout_ms=2000,
        session_timeout_ms=timeouts.get("session_timeout_ms", 10_000),
        heartbeat_interval_ms=timeouts.get("heartbeat_interval_ms", 3_000),
        rebalance_timeout_ms=timeouts.get("rebalance_timeout_ms", 10_000),
    )


@pytest.fixture
async def kafka_settings(kafka_bootstrap: str, kafka_group_timeouts: dict[str, int]) -> KafkaSettings:
    """Settings for this test alone, its topics created."""
    settings = kafka_settings_on(kafka_bootstrap, kafka_group_timeouts)
    await ensure_topics(settings)
    return settings


@pytest.fixture
async def uow(migrated_sqlite_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """Units of work on a migrated SQLite database of the test's own."""
    database = create_database(migrated_sqlite_url)
    try:
        yield SqlUnitOfWorkFactory(database, secret_box_for(Settings()))
    finally:
        await database.dispose()


def dispatch(
    kind: DispatchKind = DispatchKind.START, run_id: str | None = None, request_id: str | None = None
) -> Dispatch:
    return Dispatch(
        id=str(uuid.uuid4()),
        kind=kind,
        run_id=RunId(run_id or str(uuid.uuid4())),
        created_at=datetime.now(UTC),
        request_id=request_id,
    )


async def read_all(settings: KafkaSettings, topic: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of `topic` from its beginning (outside any group): at least `count`, and any that follow
    within half a second."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(20):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            records.extend(batch)
    finally:
        await consumer.stop()
    return records
