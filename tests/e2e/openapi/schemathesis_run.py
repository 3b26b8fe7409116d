"""Schemathesis over a live server, through its Python API: load the document, run every phase, collect failures.

Blocking (schemathesis sends its requests with `requests`): call it in a thread when the server under
test runs on the caller's event loop.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import attrs
import schemathesis
from schemathesis.engine import Status, from_schema
from schemathesis.engine.events import (
    EngineFinished,
    FatalError,
    NonFatalError,
    PhaseFinished,
    PhaseStarted,
    ScenarioFinished,
)

CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance", "negative_data_rejection")

DEFAULT_SEED = 20301
"""A fixed seed keeps CI reproducible; `WF_SCHEMATHESIS_SEED` explores others."""


@attrs.frozen
class Exclusion:
    """A check left out for one operation, with the reason (a known bug outside the HTTP server)."""

    operation_id: str
    check: str
    reason: str


@attrs.define
class FuzzReport:
    """What a run did and found."""

    seed: int
    generated: int = 0
    operations: set[str] = attrs.field(factory=set)
    failures: list[str] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)
    seconds: dict[str, float] = attrs.field(factory=dict)
    """How long each phase took."""


def _config(checks: Sequence[str], max_examples: int, seed: int, exclusions: Sequence[Exclusion]) -> dict[str, Any]:
    enabled = {"enabled": False, **{check: {"enabled": True} for check in checks}}
    operations = [
        {"include-operation-id": exclusion.operation_id, "checks": {exclusion.check: {"enabled": False}}}
        for exclusion in exclusions
    ]
    return {
        "seed": seed,
        "request-timeout": 30,
        "warnings": False,
        "checks": enabled,
        "generation": {"max-examples": max_examples, "database": "none", "mode": "all"},
        "phases": {"stateful": {"max-steps": 10}},
        "operations": operations,
    }


def run_schemathesis(
    schema_url: str,
    *,
    checks: Sequence[str] = CHECKS,
    max_examples: int = 25,
    exclusions: Sequence[Exclusion] = (),
) -> FuzzReport:
    """Every phase (examples, coverage, fuzzing, stateful) over every operation of the document at `schema_url`."""
    seed = int(os.environ.get("WF_SCHEMATHESIS_SEED", DEFAULT_SEED))
    config = schemathesis.Config.from_dict(_config(checks, max_examples, seed, exclusions))
    schema = schemathesis.openapi.from_url(schema_url, config=config)
    report = FuzzReport(seed=seed)
    started: dict[str, float] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, PhaseStarted):
            started[event.phase.name.value] = event.timestamp
        elif isinstance(event, PhaseFinished):
            name = event.phase.name.value
            report.seconds[name] = round(event.timestamp - started.get(name, event.timestamp), 1)
        elif isinstance(event, ScenarioFinished) and event.is_test_scenario:
            _record(report, event)
        elif isinstance(event, NonFatalError):
            report.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, EngineFinished):
            break
    return report


def _record(report: FuzzReport, event: ScenarioFinished) -> None:
    recorder = event.recorder
    report.generated += len(recorder.cases)
    for node in recorder.cases.values():
        operation_id = node.value.operation.definition.raw.get("operationId")
        if operation_id:
            report.operations.add(operation_id)
    if event.status not in (Status.FAILURE, Status.ERROR):
        return
    for checks in recorder.checks.values():
        for check in checks:
            if check.status is Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                report.failures.append(
                    f"[{event.phase.value}] {recorder.label}: {check.name}: {failure.title}\n"
                    f"{failure.message}\n{check.failure_info.code_sample}"
                )
