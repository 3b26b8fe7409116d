"""The Prometheus adapter's run gauge: what the engine says it holds, not what run events imply."""

from __future__ import annotations

from adapters_prometheus.metrics import Metrics
from contract.builders import at, run, workflow
from wfcore.domain.events import EventType, RunEvent


def runs_in_progress(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("wf_runs_in_progress")


def test_the_gauge_follows_the_engine_and_ignores_starts_and_finishes_written_elsewhere() -> None:
    metrics = Metrics()
    started, _ = run(workflow()[0])
    finished = started.start(at=at(1)).succeed(output={}, at=at(2))

    metrics.executing(1)  # a run taken over: its start was written by another worker
    held = runs_in_progress(metrics)
    metrics.committed(finished, [], [RunEvent(run_id=finished.id, type=EventType.RUN_SUCCEEDED, at=at(2))])
    after_its_finish_was_committed = runs_in_progress(metrics)
    metrics.executing(0)

    assert (held, after_its_finish_was_committed, runs_in_progress(metrics)) == (1, 1, 0)
    assert metrics.registry.get_sample_value("wf_runs_finished_total", {"status": "succeeded"}) == 1


def test_a_start_written_here_counts_as_a_start_not_as_a_run_held() -> None:
    metrics = Metrics()
    pending, _ = run(workflow()[0])
    started = pending.start(at=at(1))

    metrics.committed(started, [], [RunEvent(run_id=started.id, type=EventType.RUN_STARTED, at=at(1))])

    assert runs_in_progress(metrics) == 0
    assert metrics.registry.get_sample_value("wf_runs_started_total") == 1
