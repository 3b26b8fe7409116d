"""The distributed mode: PostgreSQL holds the truth, Kafka carries the work to many `wf worker`s.

- `start_distributed_api(container, settings)`: for `wf serve` with `WF_KAFKA_BOOTSTRAP_SERVERS`:
  the use cases' dispatcher becomes the outbox relay, which publishes committed dispatches to Kafka.
- `serve_distributed(settings)`: the whole `wf serve` of the distributed mode (API + relay, no workers).
- `run_worker(settings)`: the whole `wf worker` process.
- `kafka_readiness_check(kafka)`: the `broker` check of `GET /health/ready`.

Until the `wf` command has them, `python -m wfapp.distributed serve|worker [--health-port N]` runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

import attrs
from aiohttp import web
from dependency_injector import providers

from adapters_http.server import ReadinessCheck, create_app
from adapters_kafka.publisher import KafkaPublisher
from adapters_kafka.relay import OutboxRelay
from adapters_kafka.settings import KafkaSettings
from wfapp.container import Container
from wfapp.distributed_health import kafka_readiness_check
from wfapp.distributed_logs import quiet_kafka_client_logs
from wfapp.distributed_settings import DistributedSettings, load_distributed_settings
from wfapp.distributed_worker import WorkerProcess, run_worker
from wfapp.logs import configure_logging
from wfapp.readiness import database_check
from wfapp.settings import Settings, SettingsError, load_settings
from wfapp.version import __version__

__all__ = [
    "DistributedApiRuntime",
    "DistributedSettings",
    "WorkerProcess",
    "build_parser",
    "kafka_readiness_check",
    "load_distributed_settings",
    "main",
    "run_worker",
    "serve_distributed",
    "start_distributed_api",
]

log = logging.getLogger("wf.serve")


@attrs.define
class DistributedApiRuntime:
    """What `wf serve` runs beside the API in the distributed mode: the outbox relay."""

    relay: OutboxRelay
    kafka: KafkaSettings
    readiness: ReadinessCheck
    """The `broker` readiness check, to add to the database's."""

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop relaying after a last attempt to publish what is pending (what is left waits in the outbox)."""
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
    return DistributedApiRuntime(relay=relay, kafka=kafka, readiness=kafka_readiness_check(kafka))


async def serve_distributed(settings: Settings, distributed: DistributedSettings | None = None) -> None:
    """`wf serve` in the distributed mode: the API and the relay, until SIGINT or SIGTERM."""
    from wfapp.serve import _warn_if_exposed, build_api, http_settings

    configure_logging(settings.log_level, settings.log_format)
    container = Container(settings=providers.Object(settings))
    runtime = await start_distributed_api(container, settings, distributed)
    app = create_app(
        build_api(container),
        http_settings(settings),
        readiness=[database_check(container), runtime.readiness],
        metrics=container.metrics(),
    )
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    _warn_if_exposed(settings)
    log.info(
        "wf %s serving on http://%s:%d (distributed: runs go to Kafka at %s)",
        __version__,
        settings.host,
        settings.port,
        runtime.kafka.bootstrap,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await site.stop()
        await runtime.stop()
        await runner.cleanup()
        with contextlib.suppress(Exception):
            await container.invoker().close()
        await container.database().dispose()


def build_parser() -> argparse.ArgumentParser:
    """The stand-in for `wf serve` (distributed) and `wf worker`: `python -m wfapp.distributed serve|worker`."""
    parser = argparse.ArgumentParser(prog="python -m wfapp.distributed", description="wf's distributed mode.")
    parser.add_argument("command", choices=["serve", "worker"], help="the API with the relay, or a worker")
    parser.add_argument("--health-port", help="port of a worker's /health and /health/ready (env WF_HEALTH_PORT)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run `serve` or `worker` with settings from `WF_` variables; a bad one is one line and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        overrides = {"health_port": args.health_port} if args.health_port is not None else {}
        distributed = load_distributed_settings(overrides=overrides)
        if not settings.distributed:
            raise SettingsError("WF_KAFKA_BOOTSTRAP_SERVERS is not set: the distributed mode needs a broker")
        if args.command == "serve":
            asyncio.run(serve_distributed(settings, distributed))
        else:
            asyncio.run(run_worker(settings, distributed))
    except SettingsError as error:
        print(f"wf: bad setting: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
