"""The aiohttp application: the use cases behind every route, wrapped in the middlewares."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from aiohttp import web

from adapters_http.server.bodies import BodyReader
from adapters_http.server.endpoints import Endpoint, register
from adapters_http.server.middlewares import (
    api_key_auth,
    echo_request_id,
    log_access,
    problem_details,
    request_context,
    retry_collisions,
)
from adapters_http.server.observability import RequestMetrics
from adapters_http.server.openapi import ApiInfo
from adapters_http.server.problems import ProblemMapper
from adapters_http.server.routes.agents import AgentRoutes
from adapters_http.server.routes.audit import AuditRoutes
from adapters_http.server.routes.docs import DocsRoutes
from adapters_http.server.routes.events import RunEventStream
from adapters_http.server.routes.runs import RunRoutes
from adapters_http.server.routes.system import ReadinessCheck, SystemRoutes
from adapters_http.server.routes.workflows import WorkflowRoutes
from adapters_http.server.settings import HttpSettings
from wfcore.use_cases.agents import AgentRegistry
from wfcore.use_cases.audit import AuditQueries
from wfcore.use_cases.execution import ExecuteWorkflowHandler
from wfcore.use_cases.runs import RunCommands, RunQueries
from wfcore.use_cases.workflows import WorkflowCatalog

# A command whose transaction collided with a concurrent one runs again, this many times in all.
COLLISION_ATTEMPTS = 3

ENDPOINTS = web.AppKey("endpoints", tuple[Endpoint, ...])
"""The route table the app serves and documents, for tools that inspect the app."""


@attrs.frozen
class Api:
    """The use cases the HTTP API serves; the composition root builds them."""

    agents: AgentRegistry
    workflows: WorkflowCatalog
    execute: ExecuteWorkflowHandler
    runs: RunQueries
    run_commands: RunCommands
    audit: AuditQueries


def create_app(
    api: Api,
    settings: HttpSettings,
    readiness: Sequence[ReadinessCheck] = (),
    metrics: RequestMetrics | None = None,
) -> web.Application:
    """The application serving the REST API of contract §1-§6 over `api`, and its OpenAPI document and docs.

    `readiness` are the checks of `GET /health/ready` (the database, the broker...); `metrics`, when
    given, records every request and serves `GET /metrics`. Nothing is connected here: the
    application only calls `api` while it serves requests.
    """
    mapper = ProblemMapper(
        max_body_bytes=settings.max_body_bytes,
        dependency_errors=settings.dependency_errors,
        retry_after_seconds=settings.retry_after_seconds,
    )
    middlewares = [request_context, log_access(metrics), problem_details(mapper)]
    if settings.api_keys:
        middlewares.append(api_key_auth(settings.api_keys))
    middlewares.append(retry_collisions(COLLISION_ATTEMPTS))
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=middlewares)
    app.on_response_prepare.append(echo_request_id)
    bodies = BodyReader(max_depth=settings.max_json_depth)
    docs = DocsRoutes(ApiInfo(version=settings.version, api_keys=bool(settings.api_keys)))
    resources = (
        AgentRoutes(api.agents, bodies),
        WorkflowRoutes(api.workflows, api.execute, bodies),
        RunRoutes(api.runs, api.run_commands, bodies),
        RunEventStream(api.runs, settings.event_poll_seconds),
        AuditRoutes(api.audit),
        SystemRoutes(settings.version, readiness, settings.readiness_timeout_seconds, metrics),
        docs,
    )
    endpoints = [endpoint for resource in resources for endpoint in resource.endpoints()]
    register(app, endpoints)
    docs.publish(endpoints)
    app[ENDPOINTS] = tuple(endpoints)
    return app
