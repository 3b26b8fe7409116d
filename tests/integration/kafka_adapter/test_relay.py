"""The outbox relay: committed dispatches reach the broker, acknowledged, then marked sent; none is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from adapters_db.unit_of_work import SqlUnitOfWorkFactory
from adapters_kafka.backoff import Backoff
from adapters_kafka.clients import ensure_topics
from adapters_kafka.codec import decode
from adapters_kafka.publisher import KafkaPublisher
from adapters_kafka.relay import OutboxRelay
from adapters_kafka.settings import KafkaSettings
from fixtures.kafka import TansuBroker
from integration.kafka_adapter.conftest import dispatch, kafka_settings_on, read_all
from wfcore.ports.dispatch import Dispatch, DispatchKind

pytestmark = pytest.mark.kafka


async def write(uow: SqlUnitOfWorkFactory, dispatches: Sequence[Dispatch]) -> None:
    async with uow() as unit:
        for item in dispatches:
            await unit.outbox.add(item)
        await unit.commit()


async def backlog_drained(relay: OutboxRelay) -> None:
    async with asyncio.timeout(30):
        while await relay.backlog():  # noqa: ASYNC110 (the backlog is a database count: polled)
            await asyncio.sleep(0.05)


def run_ids(records: Sequence[object]) -> list[str]:
    return [decode(record.value, record.headers).run_id for record in records]  # type: ignore[attr-defined,union-attr]


async def test_dispatches_go_to_the_runs_or_control_topic_keyed_by_run_id_then_are_marked_sent(
    uow: SqlUnitOfWorkFactory, kafka_settings: KafkaSettings
) -> None:
    starts = [dispatch(request_id=f"req-{index}") for index in range(3)]
    cancels = [dispatch(DispatchKind.CANCEL) for _ in range(2)]
    await write(uow, [starts[0], cancels[0], starts[1], starts[2], cancels[1]])
    relay = OutboxRelay(uow=uow, publisher=KafkaPublisher(kafka_settings), scan_interval=3600)

    moved = await relay.relay_once()
    again = await relay.relay_once()
    backlog = await relay.backlog()
    await relay.stop()

    assert (moved, again, backlog) == (5, 0, 0)
    runs = await read_all(kafka_settings, kafka_settings.runs_topic, 3)
    control = await read_all(kafka_settings, kafka_settings.control_topic, 2)
    assert sorted(run_ids(runs)) == sorted(item.run_id for item in starts)
    assert sorted(run_ids(control)) == sorted(item.run_id for item in cancels)
    assert all(record.key.decode() == decode(record.value).run_id for record in runs + control)  # type: ignore[union-attr]
    assert {decode(r.value, r.headers).request_id for r in runs} == {"req-0", "req-1", "req-2"}  # type: ignore[union-attr]


async def test_a_dispatch_both_notified_and_found_by_a_scan_is_published_once(
    uow: SqlUnitOfWorkFactory, kafka_settings: KafkaSettings
) -> None:
    relay = OutboxRelay(uow=uow, publisher=KafkaPublisher(kafka_settings), scan_interval=3600)
    first, second, third = dispatch(), dispatch(), dispatch()
    await write(uow, [first, second])
    await relay.notify(first)
    await relay.notify(second)

    scanned = await relay.relay_once()  # a new relay scans the outbox, which holds both
    nothing = await relay.relay_once()
    await write(uow, [third])
    await relay.notify(third)
    await relay.notify(third)
    notified = await relay.relay_once()  # no scan due: the notification alone brings it
    await relay.stop()

    assert (scanned, nothing, notified) == (2, 0, 1)
    records = await read_all(kafka_settings, kafka_settings.runs_topic, 3)
    assert sorted(run_ids(records)) == sorted([first.run_id, second.run_id, third.run_id])
    assert relay.stats.published == 3


async def test_stopping_the_relay_publishes_what_is_pending_first(
    uow: SqlUnitOfWorkFactory, kafka_settings: KafkaSettings
) -> None:
    relay = OutboxRelay(uow=uow, publisher=KafkaPublisher(kafka_settings), scan_interval=3600)
    unannounced = [dispatch() for _ in range(3)]
    await write(uow, unannounced)

    await relay.stop()

    assert await relay.backlog() == 0
    records = await read_all(kafka_settings, kafka_settings.runs_topic, 3)
    assert sorted(run_ids(records)) == sorted(item.run_id for item in unannounced)


async def test_while_the_broker_is_down_nothing_is_marked_sent_and_the_backlog_drains_when_it_returns(
    uow: SqlUnitOfWorkFactory, kafka_broker: TansuBroker, kafka_group_timeouts: dict[str, int]
) -> None:
    settings = kafka_settings_on(kafka_broker.bootstrap, kafka_group_timeouts)
    await ensure_topics(settings)
    failures: list[Exception] = []
    relay = OutboxRelay(
        uow=uow,
        publisher=KafkaPublisher(settings),
        scan_interval=3600,
        backoff=Backoff(initial=0.05, cap=0.3),
        on_publish_failure=failures.append,
    )
    relay.start()
    try:
        await asyncio.to_thread(kafka_broker.stop)
        waiting = [dispatch() for _ in range(4)]
        await write(uow, waiting)
        for item in waiting:
            await relay.notify(item)
        async with asyncio.timeout(30):
            while len(failures) < 2:  # noqa: ASYNC110 (failures are counted by the relay: polled)
                await asyncio.sleep(0.05)
        backlog_while_down = await relay.backlog()
        # The broker comes back empty: the relay creates the topics again before it publishes.
        await asyncio.to_thread(kafka_broker.start)
        await backlog_drained(relay)
    finally:
        await relay.stop()

    assert backlog_while_down == 4
    assert relay.stats.publish_failures == len(failures) >= 2
    records = await read_all(settings, settings.runs_topic, 4)
    assert sorted(run_ids(records)) == sorted(item.run_id for item in waiting)
