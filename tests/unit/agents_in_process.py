"""In-process agent functions with the behaviours the engine tests need."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs

from adapters_memory.agents import AgentFailure
from wfcore.ports.agents import AgentCall


@attrs.define
class Flaky:
    """Fails its first `failures` calls with `status` (None: a connection error), then echoes its input."""

    failures: int
    status: int | None = 503
    retry_after_ms: float | None = None
    calls: int = 0

    def __call__(self, call: AgentCall) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise AgentFailure(self.status, f"failure {self.calls}", retry_after_ms=self.retry_after_ms)
        return call.input


@attrs.define
class Gate:
    """Blocks every call until opened; records which calls started and which were aborted."""

    opened: asyncio.Event = attrs.field(factory=asyncio.Event)
    started: asyncio.Event = attrs.field(factory=asyncio.Event)
    aborted: list[str] = attrs.field(factory=list)

    async def __call__(self, call: AgentCall) -> Any:
        self.started.set()
        try:
            await self.opened.wait()
        except asyncio.CancelledError:
            self.aborted.append(call.step_id)
            raise
        return {"step": call.step_id}
