"""`wf serve`: the REST API, and in the embedded default the workers beside it in one process."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from aiohttp import web
from dependency_injector import providers

from adapters_http.server import Api, HttpSettings, ReadinessCheck, create_app
from wfapp.container import Container
from wfapp.distributed import start_distributed_api
from wfapp.distributed_settings import DistributedSettings
from wfapp.lifecycle import close_connections, settle_garbage_collector, stop_requested
from wfapp.logs import configure_logging
from wfapp.migration import upgrade_to_head
from wfapp.readiness import database_check
from wfapp.runtime import EmbeddedWorkers
from wfapp.settings import Settings
from wfapp.version import __version__

log = logging.getLogger("wf.serve")


def build_api(container: Container) -> Api:
    return Api(
        agents=container.agents(),
        workflows=container.workflows(),
        execute=container.execute(),
        runs=container.runs(),
        run_commands=container.run_commands(),
        audit=container.audit(),
    )


def http_settings(settings: Settings) -> HttpSettings:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return HttpSettings(
        version=__version__,
        max_body_bytes=settings.max_body_bytes,
        max_json_depth=settings.max_json_depth,
        api_keys=settings.api_keys,
        dependency_errors=(OperationalError, InterfaceError, ConnectionError),
    )


def build_app(container: Container, settings: Settings, readiness: Sequence[ReadinessCheck] = ()) -> web.Application:
    return create_app(
        build_api(container),
        http_settings(settings),
        readiness=[database_check(container), *readiness],
        metrics=container.metrics(),
    )


async def serve(settings: Settings, distributed_settings: DistributedSettings | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then stop taking work and shut down gracefully.

    `distributed_settings` (read from the environment when None) matter only with a broker configured.
    """
    configure_logging(settings.log_level, settings.log_format)
    if settings.embedded:
        await upgrade_to_head(settings.database_url)
    container = Container(settings=providers.Object(settings))
    distributed = (
        await start_distributed_api(container, settings, distributed_settings) if settings.distributed else None
    )
    readiness = [distributed.readiness] if distributed is not None else []
    runner = web.AppRunner(build_app(container, settings, readiness), access_log=None, handle_signals=False)
    await runner.setup()
    workers = None
    if distributed is None:
        workers = EmbeddedWorkers(
            dispatcher=container.dispatcher(), engine=container.engine(), worker=container.worker(), uow=container.uow()
        )
        await workers.start()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    _warn_if_exposed(settings)
    mode = (
        f"distributed: runs go to Kafka at {','.join(settings.kafka_bootstrap_servers)}"
        if distributed is not None
        else f"embedded: database {settings.database_url}, {settings.worker_concurrency} runs in flight at most"
    )
    log.info("wf %s serving on http://%s:%d (%s)", __version__, settings.host, settings.port, mode)
    settle_garbage_collector()
    stop = stop_requested()
    try:
        await stop.wait()
    finally:
        log.info(
            "stopping: no new runs are taken; waiting up to %.0f s for runs in flight", settings.shutdown_grace_seconds
        )
        await site.stop()
        if workers is not None:
            await workers.stop(settings.shutdown_grace_seconds)
        if distributed is not None:
            await distributed.stop()
        await runner.cleanup()
        await close_connections(container)


def _warn_if_exposed(settings: Settings) -> None:
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if not loopback and not settings.api_keys:
        log.warning(
            "listening on %s without API keys: anyone who can reach this address can use the API; "
            "set WF_API_KEYS to require a key",
            settings.host,
        )
