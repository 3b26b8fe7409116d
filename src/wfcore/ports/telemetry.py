"""What the engine tells the outside world once a change is committed: metrics, live views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from wfcore.domain.events import RunEvent
from wfcore.domain.runs import Run, StepExecution


class Telemetry(Protocol):
    def committed(self, run: Run, steps: Sequence[StepExecution], events: Sequence[RunEvent]) -> None:
        """A transaction of the engine was committed: the run as it is now, the steps and events it wrote.

        Called after the commit, never before: what is announced is durable. Must not raise.
        """

    def agent_called(self, agent_name: str, outcome: str, seconds: float) -> None:
        """One attempt reached (or failed to reach) an agent; `outcome` is `ok` or the error code."""

    def worker_alive(self) -> None:
        """A worker's sweep loop went round: the heartbeat that alerts watch."""

    def executing(self, runs: int) -> None:
        """The engine now holds `runs` runs (claimed, not yet left): it changed by one, up or down."""


class NoTelemetry:
    """Telemetry that records nothing: the default of the library and the test harness."""

    def committed(self, run: Run, steps: Sequence[StepExecution], events: Sequence[RunEvent]) -> None:
        return None

    def agent_called(self, agent_name: str, outcome: str, seconds: float) -> None:
        return None

    def worker_alive(self) -> None:
        return None

    def executing(self, runs: int) -> None:
        return None
