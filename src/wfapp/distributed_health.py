"""Readiness checks of the distributed mode, and the small health server of a worker process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

import attrs
from aiohttp import web

from adapters_http.server import ReadinessCheck, ReadinessResult
from adapters_kafka.clients import probe_broker
from adapters_kafka.consumer import RunConsumer
from adapters_kafka.settings import KafkaSettings
from wfapp.version import __version__

CHECK_TIMEOUT_SECONDS = 5.0


class MetricsSource(Protocol):
    """What `/metrics` serves (`adapters_prometheus.Metrics` is one)."""

    async def exposition(self) -> tuple[bytes, str]:
        """The metrics in the Prometheus text format, and its content type."""


def kafka_readiness_check(kafka: KafkaSettings) -> ReadinessCheck:
    """A readiness check named `broker`: can this process reach the Kafka cluster?"""

    async def broker() -> ReadinessResult:
        started = time.perf_counter()
        try:
            brokers = await probe_broker(kafka)
        except Exception as error:
            return ReadinessResult(
                name="broker", ok=False, detail=str(error) or type(error).__name__, latency_ms=_ms(started)
            )
        return ReadinessResult(name="broker", ok=True, detail=f"{brokers} brokers", latency_ms=_ms(started))

    return broker


def consumer_readiness_check(consumer: RunConsumer) -> ReadinessCheck:
    """A readiness check named `consumer`: is this worker taking runs from the runs topic?"""

    async def check() -> ReadinessResult:
        if not consumer.started:
            return ReadinessResult(name="consumer", ok=False, detail="not consuming the runs topic yet", latency_ms=0.0)
        partitions = len(consumer.consumer.assignment())
        return ReadinessResult(name="consumer", ok=True, detail=f"{partitions} partitions assigned", latency_ms=0.0)

    return check


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@attrs.define
class HealthServer:
    """`GET /health` (alive), `GET /health/ready` (each check; 503 when one fails) and, given `metrics`,
    `GET /metrics` (the process's Prometheus metrics) on `host:port`."""

    host: str
    port: int
    checks: Sequence[ReadinessCheck]
    metrics: MetricsSource | None = None
    _runner: web.AppRunner | None = attrs.field(default=None, init=False)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", self._live)
        app.router.add_get("/health/ready", self._ready)
        if self.metrics is not None:
            app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _live(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "version": __version__})

    async def _ready(self, request: web.Request) -> web.Response:
        results = await asyncio.gather(*(_bounded(check) for check in self.checks))
        ok = all(result.ok for result in results)
        body = {"status": "ok" if ok else "unavailable", "checks": [attrs.asdict(result) for result in results]}
        return web.json_response(body, status=200 if ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        assert self.metrics is not None
        body, content_type = await self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})


async def _bounded(check: ReadinessCheck) -> ReadinessResult:
    started = time.perf_counter()
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except Exception as error:
        name = getattr(check, "__name__", "check")
        return ReadinessResult(name=name, ok=False, detail=str(error) or type(error).__name__, latency_ms=_ms(started))
