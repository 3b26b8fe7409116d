"""`GET /health` (liveness, no dependency touched) and `GET /health/ready` (readiness, per dependency)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import attrs
from aiohttp import web

from adapters_http.server.endpoints import Endpoint, Reply, Tag
from adapters_http.server.observability import RequestMetrics
from adapters_http.server.openapi import examples
from adapters_http.server.responses import json_body
from adapters_http.server.schemas.system import LivenessResponse, ReadinessResponse, ReadinessResult

PROMETHEUS_TEXT = "text/plain"

ReadinessCheck = Callable[[], Awaitable[ReadinessResult]]
"""An async check of one dependency. One that raises or outlasts the timeout counts as failed."""


@attrs.frozen
class SystemRoutes:
    version: str
    readiness: Sequence[ReadinessCheck]
    timeout_seconds: float
    metrics: RequestMetrics | None = None

    def endpoints(self) -> list[Endpoint]:
        return [*self._health(), *self._metrics()]

    def _metrics(self) -> list[Endpoint]:
        if self.metrics is None:
            return []
        return [
            Endpoint(
                "GET",
                "/metrics",
                self.exposition,
                operation_id="getMetrics",
                tag=Tag.SYSTEM,
                summary="Prometheus metrics",
                description=(
                    "HTTP requests by route and status, runs started and finished by status, run and step "
                    "durations, agent call latency by outcome, runs in progress, broker publish failures and "
                    "the outbox backlog, in the Prometheus text format. Needs no API key."
                ),
                replies=(Reply(200, "The metrics.", str, "wf_runs_started_total 3.0\n", media_type=PROMETHEUS_TEXT),),
            )
        ]

    async def exposition(self, request: web.Request) -> web.Response:
        assert self.metrics is not None
        body, content_type = await self.metrics.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    def _health(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/health",
                self.live,
                operation_id="getLiveness",
                tag=Tag.SYSTEM,
                summary="Liveness",
                description="200 while the process serves requests; no dependency is checked. Needs no API key.",
                replies=(Reply(200, "The process is alive.", LivenessResponse, examples.LIVENESS),),
            ),
            Endpoint(
                "GET",
                "/health/ready",
                self.ready,
                operation_id="getReadiness",
                tag=Tag.SYSTEM,
                summary="Readiness",
                description="Checks each dependency (the database, the broker); a 503 when one is down. No API key.",
                replies=(
                    Reply(200, "Every dependency is usable.", ReadinessResponse, examples.READINESS),
                    Reply(503, "A dependency is down: `checks` says which.", ReadinessResponse, examples.READINESS),
                ),
            ),
        ]

    async def live(self, request: web.Request) -> web.Response:
        return json_body(LivenessResponse(status="ok", version=self.version))

    async def ready(self, request: web.Request) -> web.Response:
        results = await asyncio.gather(*(self._run(check) for check in self.readiness))
        ok = all(result.ok for result in results)
        body = ReadinessResponse(status="ok" if ok else "unavailable", checks=list(results))
        return json_body(body, status=200 if ok else 503)

    async def _run(self, check: ReadinessCheck) -> ReadinessResult:
        started = time.perf_counter()
        try:
            return await asyncio.wait_for(check(), self.timeout_seconds)
        except Exception as error:
            if isinstance(error, TimeoutError):
                detail = f"no answer within {self.timeout_seconds} s"
            else:
                detail = f"the check failed: {type(error).__name__}"
            return ReadinessResult(
                name=getattr(check, "__name__", type(check).__name__),
                ok=False,
                detail=detail,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
