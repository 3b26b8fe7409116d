"""The run event log: what happened to a run, in order, written with the state change it reports."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from wfcore.domain.ids import RunId


class EventType(enum.StrEnum):
    RUN_CREATED = "run_created"
    RUN_STARTED = "run_started"
    RUN_SUCCEEDED = "run_succeeded"
    RUN_FAILED = "run_failed"
    RUN_CANCELLED = "run_cancelled"
    RUN_RETRIED = "run_retried"
    CANCEL_REQUESTED = "cancel_requested"
    STEP_STARTED = "step_started"
    STEP_SUCCEEDED = "step_succeeded"
    STEP_FAILED = "step_failed"
    STEP_SKIPPED = "step_skipped"
    STEP_CANCELLED = "step_cancelled"
    ATTEMPT_FAILED = "attempt_failed"
    RETRY_SCHEDULED = "retry_scheduled"
    LATE_RESULT_IGNORED = "late_result_ignored"

    @property
    def ends_run(self) -> bool:
        return self in (EventType.RUN_SUCCEEDED, EventType.RUN_FAILED, EventType.RUN_CANCELLED)


@attrs.frozen
class RunEvent:
    run_id: RunId
    type: EventType
    at: datetime
    step_id: str | None = None
    data: dict[str, Any] = attrs.field(factory=dict)
    seq: int | None = None
