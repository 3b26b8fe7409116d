"""A purpose-built agent for the execution tests, where the demo agent does not tell enough.

It records every request with all its headers, its body, when its handler started and ended (on the
event loop's monotonic clock, which the test shares) and whether the caller hung up; each path answers
with a behaviour the test chooses (echoing the call's input by default).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web
from aiohttp.test_utils import TestServer


@attrs.define
class Exchange:
    """One request the agent received."""

    path: str
    headers: dict[str, str]
    body: Any
    started: float
    finished: float | None = None
    aborted: bool = False

    @property
    def ended(self) -> float:
        """When the handler ended; the exchange must be over."""
        assert self.finished is not None, f"{self.path} is still being answered"
        return self.finished

    @property
    def input(self) -> Any:
        return self.body.get("input") if isinstance(self.body, dict) else None

    @property
    def step_id(self) -> Any:
        return self.body.get("step_id") if isinstance(self.body, dict) else None

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


Behaviour = Callable[[Exchange], Awaitable[web.StreamResponse]]


async def echo(exchange: Exchange) -> web.StreamResponse:
    """Answer the call's input."""
    return web.json_response(exchange.input)


def sleeping(seconds: float) -> Behaviour:
    """Wait `seconds`, then answer the input."""

    async def behave(exchange: Exchange) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.json_response(exchange.input)

    return behave


def answering(status: int, text: str, content_type: str = "text/plain") -> Behaviour:
    """Answer `status` with `text` as the body."""

    async def behave(exchange: Exchange) -> web.StreamResponse:
        return web.Response(status=status, text=text, content_type=content_type)

    return behave


def in_first_run_attempt(first: Behaviour, later: Behaviour = echo) -> Behaviour:
    """Behave as `first` in calls of the run's first attempt (Idempotency-Key `…:1`), as `later` after."""

    async def behave(exchange: Exchange) -> web.StreamResponse:
        return await (first if (exchange.idempotency_key or "").endswith(":1") else later)(exchange)

    return behave


class RecordingAgent:
    """A running recording agent: its URLs, the behaviour of each path, and the exchanges so far."""

    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.recorded: list[Exchange] = []
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def on(self, path: str, behaviour: Behaviour) -> str:
        """Answer requests to `path` with `behaviour`; returns the path's URL."""
        self.behaviours[path] = behaviour
        return self.url(path)

    def exchanges(self, step_id: str | None = None) -> list[Exchange]:
        """The requests received so far, oldest first; only those of step `step_id` when given."""
        return [exchange for exchange in self.recorded if step_id is None or exchange.step_id == step_id]

    def one(self, step_id: str) -> Exchange:
        """The only request of step `step_id`."""
        calls = self.exchanges(step_id)
        assert len(calls) == 1, calls
        return calls[0]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        exchange = Exchange(
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            body=json.loads(text) if text else None,
            started=time.monotonic(),
        )
        self.recorded.append(exchange)
        try:
            return await self.behaviours.get(request.path, echo)(exchange)
        except asyncio.CancelledError:
            exchange.aborted = True
            raise
        finally:
            exchange.finished = time.monotonic()
