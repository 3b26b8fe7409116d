"""Readiness checks: can this process reach what it depends on?"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from adapters_http.server import ReadinessResult
from wfapp.container import Container

ReadinessCheck = Callable[[], Awaitable[ReadinessResult]]


def database_check(container: Container) -> ReadinessCheck:
    async def check() -> ReadinessResult:
        started = time.perf_counter()
        try:
            await container.database().ping()
        except Exception as error:
            return ReadinessResult(
                name="database",
                ok=False,
                detail=str(error) or type(error).__name__,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
        return ReadinessResult(name="database", ok=True, detail=None, latency_ms=(time.perf_counter() - started) * 1000)

    return check
