"""The image's HEALTHCHECK script, run as Docker runs it, against real health endpoints on this machine."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from fixtures.kafka import free_port

SCRIPT = Path(__file__).resolve().parents[3] / "deploy" / "healthcheck.py"


def closed_port() -> str:
    return str(free_port())


@contextlib.asynccontextmanager
async def health_server(status: int) -> AsyncIterator[str]:
    """A server whose `GET /health` answers `status`; yields its port."""

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok" if status < 400 else "failing"}, status=status)

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield str(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def healthcheck(**environ: str) -> int:
    process = await asyncio.create_subprocess_exec(sys.executable, str(SCRIPT), env=environ)
    return await process.wait()


@pytest.fixture
async def healthy() -> AsyncIterator[str]:
    async with health_server(200) as port:
        yield port


async def test_an_api_is_healthy_when_its_port_answers(healthy: str) -> None:
    assert await healthcheck(WF_PORT=healthy) == 0
    assert await healthcheck(WF_PORT=healthy, WF_HEALTH_PORT="0") == 0
    assert await healthcheck(WF_PORT=healthy, WF_HEALTH_PORT=closed_port()) == 0  # the image sets both


async def test_a_worker_is_healthy_when_its_health_port_answers(healthy: str) -> None:
    assert await healthcheck(WF_PORT=closed_port(), WF_HEALTH_PORT=healthy) == 0


async def test_nothing_answering_or_a_failing_answer_is_unhealthy() -> None:
    assert await healthcheck(WF_PORT=closed_port(), WF_HEALTH_PORT=closed_port()) == 1
    async with health_server(503) as failing:
        assert await healthcheck(WF_PORT=failing, WF_HEALTH_PORT="0") == 1
