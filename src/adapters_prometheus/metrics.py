"""The metrics of contract §6, in one registry per process.

Run and step metrics come from the engine's `Telemetry` announcements, made after each commit, so a
metric never counts what was not durably recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.runs import Run, StepExecution

_FINISHED = {
    EventType.RUN_SUCCEEDED: "succeeded",
    EventType.RUN_FAILED: "failed",
    EventType.RUN_CANCELLED: "cancelled",
}
M = TypeVar("M", Counter, Histogram)

_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """Every metric wf exports. Implements `wfcore.ports.telemetry.Telemetry`."""

    def __init__(self, backlog: Callable[[], Awaitable[int]] | None = None) -> None:
        self._backlog = backlog
        self._children: dict[tuple[object, ...], Counter | Histogram] = {}
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "wf_http_requests", "HTTP requests served", ["method", "route", "status"], registry=self.registry
        )
        self.http_latency = Histogram(
            "wf_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.runs_started = Counter("wf_runs_started", "Runs a worker started", registry=self.registry)
        self.runs_finished = Counter("wf_runs_finished", "Runs finished, by status", ["status"], registry=self.registry)
        self.runs_in_progress = Gauge(
            "wf_runs_in_progress", "Runs this process's engine holds (claimed, not yet left)", registry=self.registry
        )
        self.run_duration = Histogram(
            "wf_run_seconds", "From start to finish of a run", ["status"], buckets=_SECONDS, registry=self.registry
        )
        self.step_duration = Histogram(
            "wf_step_seconds", "From start to finish of a step", ["status"], buckets=_SECONDS, registry=self.registry
        )
        self.agent_calls = Histogram(
            "wf_agent_call_seconds",
            "Agent call latency, by agent and outcome",
            ["agent", "outcome"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "wf_broker_publish_failures", "Batches of dispatches the broker did not acknowledge", registry=self.registry
        )
        self.worker_heartbeat = Gauge(
            "wf_worker_heartbeat_timestamp_seconds",
            "When this process's worker loop last went round",
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "wf_outbox_backlog", "Dispatches committed but not yet handed to the workers", registry=self.registry
        )

    def committed(self, run: Run, steps: Sequence[StepExecution], events: Sequence[RunEvent]) -> None:
        for event in events:
            if event.type is EventType.RUN_STARTED:
                self.runs_started.inc()
            elif event.type in _FINISHED:
                status = _FINISHED[event.type]
                self._labelled(self.runs_finished, status).inc()
                if run.started_at is not None and run.finished_at is not None:
                    seconds = (run.finished_at - run.started_at).total_seconds()
                    self._labelled(self.run_duration, status).observe(seconds)
        for step in steps:
            if step.status.is_finished and step.duration_ms is not None:
                self._labelled(self.step_duration, step.status.value).observe(step.duration_ms / 1000)

    def agent_called(self, agent_name: str, outcome: str, seconds: float) -> None:
        self._labelled(self.agent_calls, agent_name, outcome).observe(seconds)

    def worker_alive(self) -> None:
        self.worker_heartbeat.set_to_current_time()

    def executing(self, runs: int) -> None:
        self.runs_in_progress.set(runs)

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._labelled(self.http_requests, method, route, str(status)).inc()
        self._labelled(self.http_latency, method, route).observe(seconds)

    def _labelled(self, metric: M, *values: str) -> M:
        """`metric.labels(*values)`, found once: the lookup and its lock cost as much as the update, every step."""
        key = (metric, *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child  # type: ignore[return-value]

    def publish_failed(self, _error: Exception) -> None:
        self.publish_failures.inc()

    async def exposition(self) -> tuple[bytes, str]:
        """The registry in the Prometheus text format, gauges measured on demand read first."""
        if self._backlog is not None:
            self.outbox_backlog.set(await self._backlog())
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
