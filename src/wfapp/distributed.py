"""The distributed mode: PostgreSQL holds the truth, Kafka carries the work to many `wf worker`s.

- `start_distributed_api(container, settings)`: for `wf serve` with `WF_KAFKA_BOOTSTRAP_SERVERS`:
  the use cases' dispatcher becomes the outbox relay, which publishes committed dispatches to Kafka.
- `run_worker(settings)`: the whole `wf worker` process.
- `kafka_readiness_check(kafka)`: the `broker` check of `GET /health/ready`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import attrs
from dependency_injector import providers

from adapters_http.server import ReadinessCheck
from adapters_kafka.publisher import KafkaPublisher
from adapters_kafka.relay import OutboxRelay
from adapters_kafka.settings import KafkaSettings
from wfapp.container import Container
from wfapp.distributed_health import kafka_readiness_check
from wfapp.distributed_logs import quiet_kafka_client_logs
from wfapp.distributed_settings import DistributedSettings, load_distributed_settings
from wfapp.distributed_worker import WorkerProcess, run_worker
from wfapp.outbox_pruning import prune_outbox_forever
from wfapp.settings import Settings

__all__ = [
    "DistributedApiRuntime",
    "DistributedSettings",
    "WorkerProcess",
    "kafka_readiness_check",
    "load_distributed_settings",
    "run_worker",
    "start_distributed_api",
]

log = logging.getLogger("wf.serve")


@attrs.define
class DistributedApiRuntime:
    """What `wf serve` runs beside the API in the distributed mode: the outbox relay, and its pruning."""

    relay: OutboxRelay
    kafka: KafkaSettings
    readiness: ReadinessCheck
    """The `broker` readiness check, to add to the database's."""
    pruning: asyncio.Task[None]

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop relaying after a last attempt to publish what is pending (what is left waits in the outbox)."""
        self.pruning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.pruning
        await self.relay.stop(drain_seconds)


async def start_distributed_api(
    container: Container, settings: Settings, distributed: DistributedSettings | None = None
) -> DistributedApiRuntime:
    """Make the outbox relay the container's dispatcher and start it. Call before the use cases are built.

    The relay connects lazily: a broker that is down does not stop the API, whose execute and cancel
    only write the outbox; the relay retries and drains the backlog when the broker is back.
    """
    quiet_kafka_client_logs()
    distributed = distributed or load_distributed_settings()
    kafka = distributed.kafka(settings)
    relay = OutboxRelay(
        uow=container.uow(),
        publisher=KafkaPublisher(kafka),
        scan_interval=distributed.relay_scan_seconds,
        on_publish_failure=container.metrics().publish_failed,
    )
    container.dispatcher.override(providers.Object(relay))
    relay.start()
    pruning = asyncio.create_task(prune_outbox_forever(container.uow()), name="wf-outbox-pruning")
    return DistributedApiRuntime(relay=relay, kafka=kafka, readiness=kafka_readiness_check(kafka), pruning=pruning)
