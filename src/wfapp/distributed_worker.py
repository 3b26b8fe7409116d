"""`wf worker`: takes runs from Kafka and executes them, until SIGTERM or SIGINT.

One process holds a `Worker` (the engine, at most `WF_WORKER_CONCURRENCY` runs in flight), fed by
the runs topic (as a member of the workers' consumer group) and by the sweep (runs whose worker
died, or whose message was lost); the control topic brings cancels. Shutting down stops taking
runs, commits what was claimed, leaves the group, then gives the runs in flight up to
`WF_SHUTDOWN_GRACE_SECONDS` to finish; those that do not are released for another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from dependency_injector import providers

from adapters_http.server import request_id_var
from adapters_kafka.backoff import Backoff
from adapters_kafka.clients import ensure_topics
from adapters_kafka.consumer import RunConsumer
from adapters_kafka.control import CancelListener
from adapters_kafka.settings import KafkaSettings
from wfapp.container import Container
from wfapp.distributed_health import HealthServer, consumer_readiness_check, kafka_readiness_check
from wfapp.distributed_logs import quiet_kafka_client_logs
from wfapp.distributed_settings import DistributedSettings, load_distributed_settings
from wfapp.distributed_sweep import Sweep
from wfapp.lifecycle import close_connections, settle_garbage_collector, stop_requested
from wfapp.logs import configure_logging
from wfapp.readiness import database_check
from wfapp.settings import Settings, SettingsError
from wfapp.version import __version__

log = logging.getLogger("wf.worker")


@contextlib.contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """Log lines written meanwhile (and by tasks started meanwhile) carry `request_id`."""
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


class WorkerProcess:
    """Everything a worker process runs; `start` returns once it is under way, `stop` shuts it down."""

    def __init__(self, settings: Settings, distributed: DistributedSettings) -> None:
        self.settings = settings
        self.distributed = distributed
        self.container = Container(settings=providers.Object(settings))
        self.worker = self.container.worker()
        self.engine = self.container.engine()
        self.kafka: KafkaSettings = distributed.kafka(settings, client_id=f"wf-{self.engine.settings.owner}")
        self.runs = RunConsumer(self.kafka, self.worker, request_context=request_id_bound)
        self.cancels = CancelListener(self.kafka, self.engine.cancel)
        self.sweep = Sweep(
            worker=self.worker,
            services=self.engine.services,
            interval=distributed.sweep_interval_seconds,
            pending_after=distributed.sweep_pending_after_seconds,
        )
        self.health: HealthServer | None = None
        if distributed.health_port:
            checks = [
                database_check(self.container),
                kafka_readiness_check(self.kafka),
                consumer_readiness_check(self.runs),
            ]
            self.health = HealthServer(settings.host, distributed.health_port, checks, self.container.metrics())
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def owner(self) -> str:
        """The lease owner this process writes on the runs it holds."""
        return self.engine.settings.owner

    async def start(self) -> None:
        if self.health is not None:
            await self.health.start()
        self._tasks = [
            asyncio.create_task(self.sweep.sweep_forever(), name="wf-sweep"),
            asyncio.create_task(self._connect(), name="wf-kafka-connect"),
        ]

    async def _connect(self) -> None:
        """Join the broker, retrying with backoff while it is down (the sweep works meanwhile)."""
        backoff = Backoff(initial=0.2, cap=5.0)
        started = {"topics": False, "cancels": False, "runs": False}
        while not all(started.values()):
            try:
                if not started["topics"]:
                    await ensure_topics(self.kafka)
                    started["topics"] = True
                if not started["cancels"]:
                    await self.cancels.start()
                    started["cancels"] = True
                await self.runs.start()
                started["runs"] = True
            except Exception as error:
                delay = backoff.next_delay()
                log.warning("cannot reach the broker yet (%s); trying again in %.1f s", error, delay)
                await asyncio.sleep(delay)
        log.info("taking runs from %s as %s", self.kafka.runs_topic, self.owner)

    async def stop(self) -> None:
        """Stop taking runs, commit, leave the group, then finish or release the runs in flight."""
        grace = self.settings.shutdown_grace_seconds
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.runs.stop()
        log.info("stopping: waiting up to %.0f s for %d runs in flight", grace, self.worker.in_flight)
        await self.worker.stop(grace)
        await self.cancels.stop()
        if self.health is not None:
            await self.health.stop()
        await close_connections(self.container)


async def run_worker(settings: Settings, distributed: DistributedSettings | None = None) -> None:
    """The whole `wf worker` process: run until SIGINT or SIGTERM, then shut down gracefully."""
    configure_logging(settings.log_level, settings.log_format)
    quiet_kafka_client_logs()
    if not settings.distributed:
        raise SettingsError("WF_KAFKA_BOOTSTRAP_SERVERS is not set: a worker takes its runs from Kafka")
    process = WorkerProcess(settings, distributed or load_distributed_settings())
    stop = stop_requested()
    await process.start()
    settle_garbage_collector()
    log.info(
        "wf %s worker %s: brokers %s, %d runs in flight at most",
        __version__,
        process.owner,
        process.kafka.bootstrap,
        settings.worker_concurrency,
    )
    try:
        await stop.wait()
    finally:
        await process.stop()
        log.info("worker %s stopped", process.owner)
