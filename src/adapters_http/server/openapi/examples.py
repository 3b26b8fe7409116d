"""Example bodies for the document, built as instances of the schema classes so that they cannot drift.

A field added to a response class without a value here fails type checking; a test validates every
example against the schema the document publishes for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs

from adapters_http.server.responses import sse_frame
from adapters_http.server.schemas.agents import AgentCreate, AgentResponse, HealthResponse, RetryConfig
from adapters_http.server.schemas.audit import AuditEntryResponse
from adapters_http.server.schemas.common import PageResponse
from adapters_http.server.schemas.runs import (
    AttemptResponse,
    EventResponse,
    ExecuteBody,
    RetryBody,
    RunResponse,
    ServerSentEvent,
    StepResponse,
)
from adapters_http.server.schemas.system import LivenessResponse, ReadinessResponse, ReadinessResult
from adapters_http.server.schemas.workflows import (
    PlannedStepResponse,
    PlanResponse,
    StepBody,
    ValidationResponse,
    WorkflowBody,
    WorkflowMeta,
    WorkflowSummary,
    WorkflowVersionResponse,
)
from wfcore.domain.agents import AgentStatus, AuthType, HealthStatus
from wfcore.domain.audit import EntityType
from wfcore.domain.events import EventType
from wfcore.domain.runs import RunStatus, StepStatus
from wfcore.domain.workflows import WorkflowStatus

T = TypeVar("T")

AGENT_ID = "0190f3c2-5a8e-7c1d-9b2a-4e6f8d0a1b2c"
WORKFLOW_ID = "0190f3c2-7b10-7e4f-8a3b-5c6d7e8f9a0b"
RUN_ID = "0190f3c3-0d24-7a51-b6c7-d8e9f0a1b2c3"
REQUEST_ID = "3f0b9a52-6f1c-4f43-9d53-0c2a1b7e8d90"
_T0 = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
_T1 = datetime(2030, 1, 31, 12, 0, 1, 250_000, tzinfo=UTC)

AGENT_CREATE = AgentCreate(
    name="summariser",
    url="http://127.0.0.1:9/summarise",
    description="Summarises a text in three sentences.",
    auth_type=AuthType.BEARER,
    auth_config={"token": "s3cr3t-t0k3n"},
    timeout_ms=10_000,
)

AGENT_UPDATE: dict[str, Any] = {"description": "Summarises a text in one sentence.", "timeout_ms": 20_000}

HEALTH = HealthResponse(status=HealthStatus.HEALTHY, http_status=200, latency_ms=12.5, checked_at=_T1, detail=None)

AGENT = AgentResponse(
    id=AGENT_ID,
    name="summariser",
    url="http://127.0.0.1:9/summarise",
    health_url="http://127.0.0.1:9/health",
    description="Summarises a text in three sentences.",
    auth_type=AuthType.BEARER,
    auth_config={"token": "***"},
    timeout_ms=10_000,
    retry_config=RetryConfig(),
    status=AgentStatus.ACTIVE,
    last_health=HEALTH,
    created_at=_T0,
    updated_at=_T1,
)

WORKFLOW_BODY = WorkflowBody(
    name="summarise-ticket",
    description="Summarise a support ticket",
    input_schema={"type": "object", "required": ["ticket"]},
    steps=[
        StepBody(id="summarise", agent="summariser", input={"text": "{{ input.ticket.body }}"}),
        StepBody(
            id="shout",
            agent="summariser",
            depends_on=["summarise"],
            when="steps.summarise.output.text != null",
            input={"text": "Ticket {{ input.ticket.id }}: {{ steps.summarise.output.text }}"},
        ),
    ],
    output={"summary": "{{ steps.shout.output }}"},
)

_META = WorkflowMeta(
    id=WORKFLOW_ID,
    version=1,
    status=WorkflowStatus.ACTIVE,
    created_at=_T0,
    created_by="ada",
    updated_at=_T0,
)
WORKFLOW_VERSION = WorkflowVersionResponse(
    **{**attrs.asdict(WORKFLOW_BODY, recurse=False), **attrs.asdict(_META, recurse=False)}
)

WORKFLOW_SUMMARY = WorkflowSummary(
    id=WORKFLOW_ID,
    name="summarise-ticket",
    status=WorkflowStatus.ACTIVE,
    version=1,
    created_at=_T0,
    created_by="ada",
    updated_at=_T0,
)

VALIDATION = ValidationResponse(
    valid=True,
    plan=PlanResponse(
        levels=[
            [PlannedStepResponse(step_id="summarise", agent_id=AGENT_ID, agent_name="summariser")],
            [PlannedStepResponse(step_id="shout", agent_id=AGENT_ID, agent_name="summariser")],
        ]
    ),
)

EXECUTE = ExecuteBody(input={"ticket": {"id": 42, "body": "My order never arrived."}})
RETRY = RetryBody(from_step="shout")

RUN = RunResponse(
    id=RUN_ID,
    workflow_id=WORKFLOW_ID,
    workflow_name="summarise-ticket",
    workflow_version=1,
    status=RunStatus.PENDING,
    input=EXECUTE.input,
    output=None,
    error=None,
    triggered_by="ada",
    attempt=1,
    created_at=_T0,
    started_at=None,
    finished_at=None,
    cancel_requested_at=None,
    cancelled_at=None,
    cancelled_by=None,
)

STEP = StepResponse(
    step_id="summarise",
    agent_id=AGENT_ID,
    status=StepStatus.SUCCEEDED,
    input={"text": "My order never arrived."},
    output={"text": "A customer's order did not arrive."},
    error=None,
    attempts=[AttemptResponse(attempt=1, started_at=_T0, finished_at=_T1, http_status=200, error=None)],
    started_at=_T0,
    finished_at=_T1,
    duration_ms=1250.0,
)

EVENT = EventResponse(seq=1, type=EventType.RUN_CREATED, at=_T0, step_id=None, data={"attempt": 1})

AUDIT_ENTRY = AuditEntryResponse(
    id="0190f3c2-5a90-7000-8000-000000000001",
    entity_type=EntityType.AGENT,
    entity_id=AGENT_ID,
    action="update",
    user_id="ada",
    request_id=REQUEST_ID,
    changes={"timeout_ms": [10_000, 20_000]},
    timestamp=_T1,
)

LIVENESS = LivenessResponse(status="ok", version="0.1.0")
READINESS = ReadinessResponse(
    status="ok", checks=[ReadinessResult(name="database", ok=True, detail=None, latency_ms=1.8)]
)


def page_of(item: T) -> PageResponse[T]:
    """A first page holding one item."""
    return PageResponse(items=[item], total=1, limit=20, offset=0)


def event_stream(*events: EventResponse) -> str:
    """Events as the SSE stream writes them."""
    return "".join(sse_frame(ServerSentEvent.from_entry(event)) for event in events)
