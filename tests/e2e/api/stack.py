"""What the API tests drive: the HTTP client, and the backend behind it for running runs to the end."""

from __future__ import annotations

from typing import Any

import attrs
from aiohttp.test_utils import TestClient

from adapters_memory.agents import CallableInvoker
from wfcore.domain.ids import RunId
from wfcore.use_cases.common import Services
from wfcore.use_cases.engine import EngineSettings, RunEngine


@attrs.frozen
class ApiStack:
    client: TestClient[Any, Any]
    services: Services
    invoker: CallableInvoker

    async def drive(self, run_id: str) -> None:
        """Execute a run to its end, as a worker would (no worker runs behind the test server)."""
        await RunEngine(self.services, self.invoker, EngineSettings(owner="e2e")).execute(RunId(run_id))
