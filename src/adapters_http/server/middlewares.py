"""Middlewares: access log, problem details for every error, API-key authentication; request id echo."""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import time
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from adapters_http.server.context import PRINCIPAL, REQUEST_ID, REQUEST_ID_HEADER, request_id_for, request_id_var
from adapters_http.server.observability import RequestMetrics
from adapters_http.server.problems import Problem, ProblemMapper
from wfcore.domain.errors import TransientConflict

COLLISION_PAUSE_S = 0.01

access_log = logging.getLogger("adapters_http.server.access")
error_log = logging.getLogger("adapters_http.server")


def route_name(request: web.BaseRequest) -> str:
    """The route template (`/api/v1/runs/{run_id}`), so that logs and metrics group requests by route."""
    resource = request.match_info.route.resource if isinstance(request, web.Request) else None
    return resource.canonical if resource is not None else "<unmatched>"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request its id, for the handler, the log lines and the response (see `echo_request_id`)."""
    request_id = request_id_for(request)
    request[REQUEST_ID] = request_id
    token = request_id_var.set(request_id)
    try:
        return await handler(request)
    finally:
        request_id_var.reset(token)


async def echo_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """`on_response_prepare` hook: every response, streams and errors included, carries the request id."""
    response.headers[REQUEST_ID_HEADER] = request.get(REQUEST_ID) or request_id_for(request)


def log_access(metrics: RequestMetrics | None) -> Middleware:
    """One line per request (method, route, status, duration, request id), and its metrics."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except asyncio.CancelledError:
            status = 499  # the client went away before the answer
            raise
        finally:
            seconds = time.perf_counter() - started
            route = route_name(request)
            access_log.info("%s %s %d %.1fms %s", request.method, route, status, seconds * 1000, request[REQUEST_ID])
            if metrics is not None:
                metrics.http_request(request.method, route, status, seconds)

    return middleware


def problem_details(mapper: ProblemMapper) -> Middleware:
    """Answer every error with a problem document; a bug is a 500 whose traceback only the log sees."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Exception as error:
            problem = mapper.problem_for(error)
            if problem is None:
                error_log.exception("%s %s failed", request.method, route_name(request))
                problem = Problem(status=500, detail="Something failed; quote the request id when reporting it")
            elif problem.status >= 500:
                error_log.warning("%s %s: %s", request.method, route_name(request), problem.detail, exc_info=error)
            return problem.response(instance=request.path, request_id=request[REQUEST_ID])

    return middleware


def retry_collisions(attempts: int) -> Middleware:
    """Run the handler again, up to `attempts` times in all, when its transaction collided with a concurrent
    one (`TransientConflict`): it was rolled back whole, and the body is read from aiohttp's copy again."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        for attempt in range(1, attempts):
            try:
                return await handler(request)
            except TransientConflict:
                # A short random pause, so that the two colliding commands do not collide again.
                await asyncio.sleep(random.uniform(0, COLLISION_PAUSE_S * attempt))
        return await handler(request)

    return middleware


def api_key_auth(api_keys: Mapping[str, str]) -> Middleware:
    """Every `/api/` request needs one of `api_keys` (as a bearer token or `X-API-Key`); its name is the user."""
    keys = [(name, key.encode()) for name, key in api_keys.items()]

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        presented = _presented_key(request).encode()
        principal = None
        for name, key in keys:
            # Every key is compared, so the time taken does not tell which one came close.
            if hmac.compare_digest(presented, key) and presented:
                principal = name
        if principal is None:
            problem = Problem(
                status=401,
                detail="A valid API key is required: send Authorization: Bearer <key> or X-API-Key",
                headers={"WWW-Authenticate": 'Bearer realm="wf"'},
            )
            return problem.response(instance=request.path, request_id=request[REQUEST_ID])
        request[PRINCIPAL] = principal
        return await handler(request)

    return middleware


def _presented_key(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-API-Key", "")
