"""Rows to entities and back. Entities never leave this package as rows, rows never enter the domain.

The JSON parts (definitions, step attempts, errors, health results, retry policies) go through a
cattrs converter of this adapter's own: tolerant of keys it does not know, so rows written by a newer
version still load.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import cattrs

from wfcore.domain.agents import (
    Agent,
    AgentStatus,
    ApiKeyAuth,
    AuthConfig,
    AuthType,
    BasicAuth,
    BearerAuth,
    HealthResult,
    NoAuth,
    RetryPolicy,
)
from wfcore.domain.audit import AuditEntry, EntityType
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.ids import AgentId, RunId, WorkflowId
from wfcore.domain.runs import Lease, Run, RunError, RunStatus, StepAttempt, StepError, StepExecution, StepStatus
from wfcore.domain.workflows import Workflow, WorkflowDefinition, WorkflowStatus, WorkflowVersion
from wfcore.ports.dispatch import Dispatch, DispatchKind
from wfcore.ports.system import SecretBox

# A result row by column name (SQLAlchemy's RowMapping is one).
Row = Mapping[Any, Any]

_AUTH_CLASSES: dict[AuthType, type[AuthConfig]] = {
    AuthType.NONE: NoAuth,
    AuthType.BEARER: BearerAuth,
    AuthType.API_KEY: ApiKeyAuth,
    AuthType.BASIC: BasicAuth,
}


def _json_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(datetime, lambda value: value.astimezone(UTC).isoformat())
    converter.register_structure_hook(datetime, lambda value, _: _aware(datetime.fromisoformat(value)))
    return converter


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


converter = _json_converter()


def _optional(value: Any, cls: type[Any]) -> Any:
    return None if value is None else converter.structure(value, cls)


def agent_row(agent: Agent, secret_box: SecretBox) -> dict[str, Any]:
    """The agent's row. Secret auth fields are stored only as one `secret_box` token."""
    secrets = agent.auth.secrets()
    return {
        "id": agent.id,
        "name": agent.name,
        "url": agent.url,
        "health_url": agent.health_url,
        "description": agent.description,
        "auth_type": agent.auth.type.value,
        "auth_public": agent.auth.public(),
        "auth_secret": secret_box.encrypt(json.dumps(secrets)) if secrets else None,
        "timeout_ms": agent.timeout_ms,
        "retry": converter.unstructure(agent.retry),
        "status": agent.status.value,
        "last_health": converter.unstructure(agent.last_health),
        "created_at": agent.created_at,
        "updated_at": agent.updated_at,
        "deleted_at": agent.deleted_at,
    }


def agent_from_row(row: Row, secret_box: SecretBox) -> Agent:
    fields = dict(row["auth_public"])
    if row["auth_secret"] is not None:
        fields.update(json.loads(secret_box.decrypt(row["auth_secret"])))
    return Agent(
        id=AgentId(row["id"]),
        name=row["name"],
        url=row["url"],
        health_url=row["health_url"],
        description=row["description"],
        auth=converter.structure(fields, _AUTH_CLASSES[AuthType(row["auth_type"])]),
        timeout_ms=row["timeout_ms"],
        retry=converter.structure(row["retry"], RetryPolicy),
        status=AgentStatus(row["status"]),
        last_health=_optional(row["last_health"], HealthResult),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
    )


def health_value(result: HealthResult) -> Any:
    return converter.unstructure(result)


def workflow_row(workflow: Workflow) -> dict[str, Any]:
    return {
        "id": workflow.id,
        "name": workflow.name,
        "status": workflow.status.value,
        "latest_version": workflow.latest_version,
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
        "created_by": workflow.created_by,
        "deleted_at": workflow.deleted_at,
    }


def workflow_from_row(row: Row) -> Workflow:
    return Workflow(
        id=WorkflowId(row["id"]),
        name=row["name"],
        status=WorkflowStatus(row["status"]),
        latest_version=row["latest_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        deleted_at=row["deleted_at"],
    )


def version_row(version: WorkflowVersion) -> dict[str, Any]:
    return {
        "workflow_id": version.workflow_id,
        "version": version.version,
        "definition": converter.unstructure(version.definition),
        "document": version.document,
        "created_at": version.created_at,
        "created_by": version.created_by,
    }


def version_from_row(row: Row) -> WorkflowVersion:
    return WorkflowVersion(
        workflow_id=WorkflowId(row["workflow_id"]),
        version=row["version"],
        definition=converter.structure(row["definition"], WorkflowDefinition),
        document=row["document"],
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


def run_row(run: Run) -> dict[str, Any]:
    """Every column of the run except its lease, which claim, renew, release and `run_progress_row` write."""
    return {
        "id": run.id,
        "workflow_id": run.workflow_id,
        "workflow_name": run.workflow_name,
        "workflow_version": run.workflow_version,
        "status": run.status.value,
        "input": run.input,
        "output": run.output,
        "error": converter.unstructure(run.error),
        "triggered_by": run.triggered_by,
        "attempt": run.attempt,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "cancel_requested_at": run.cancel_requested_at,
        "cancelled_at": run.cancelled_at,
        "cancelled_by": run.cancelled_by,
        "request_id": run.request_id,
        "idempotency_key": run.idempotency_key,
    }


def run_progress_row(run: Run) -> dict[str, Any]:
    """The columns executing a run changes: its state, result, times, cancel and lease holder (not the token)."""
    lease = run.lease
    return {
        "status": run.status.value,
        "output": run.output,
        "error": converter.unstructure(run.error),
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "cancel_requested_at": run.cancel_requested_at,
        "cancelled_at": run.cancelled_at,
        "cancelled_by": run.cancelled_by,
        "lease_owner": None if lease is None else lease.owner,
        "lease_expires_at": None if lease is None else lease.expires_at,
    }


def run_from_row(row: Row) -> Run:
    token = row["lease_token"]
    lease = None if token is None else Lease(owner=row["lease_owner"], expires_at=row["lease_expires_at"], token=token)
    return Run(
        id=RunId(row["id"]),
        workflow_id=WorkflowId(row["workflow_id"]),
        workflow_name=row["workflow_name"],
        workflow_version=row["workflow_version"],
        status=RunStatus(row["status"]),
        input=row["input"],
        output=row["output"],
        error=_optional(row["error"], RunError),
        triggered_by=row["triggered_by"],
        attempt=row["attempt"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        cancel_requested_at=row["cancel_requested_at"],
        cancelled_at=row["cancelled_at"],
        cancelled_by=row["cancelled_by"],
        request_id=row["request_id"],
        idempotency_key=row["idempotency_key"],
        lease=lease,
    )


def step_row(step: StepExecution) -> dict[str, Any]:
    """The step's changeable columns; the keys (`run_id`, `step_id`) and `position` are added by the caller."""
    return {
        "agent_id": step.agent_id,
        "status": step.status.value,
        "input": step.input,
        "output": step.output,
        "error": converter.unstructure(step.error),
        "attempts": converter.unstructure(step.attempts),
        "started_at": step.started_at,
        "finished_at": step.finished_at,
    }


def new_step_rows(steps: Sequence[StepExecution]) -> list[dict[str, Any]]:
    """Every column of a run's steps, in the order given, which is the order they are listed in."""
    return [
        {"run_id": step.run_id, "step_id": step.step_id, "position": position, **step_row(step)}
        for position, step in enumerate(steps)
    ]


def step_from_row(row: Row) -> StepExecution:
    return StepExecution(
        run_id=RunId(row["run_id"]),
        step_id=row["step_id"],
        agent_id=None if row["agent_id"] is None else AgentId(row["agent_id"]),
        status=StepStatus(row["status"]),
        input=row["input"],
        output=row["output"],
        error=_optional(row["error"], StepError),
        attempts=converter.structure(row["attempts"], tuple[StepAttempt, ...]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def event_row(event: RunEvent) -> dict[str, Any]:
    return {
        "run_id": event.run_id,
        "type": event.type.value,
        "at": event.at,
        "step_id": event.step_id,
        "data": event.data,
    }


def event_from_row(row: Row) -> RunEvent:
    return RunEvent(
        run_id=RunId(row["run_id"]),
        type=EventType(row["type"]),
        at=row["at"],
        step_id=row["step_id"],
        data=row["data"],
        seq=row["seq"],
    )


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "entity_type": entry.entity_type.value,
        "entity_id": entry.entity_id,
        "action": entry.action,
        "user_id": entry.user_id,
        "request_id": entry.request_id,
        "changes": {field: list(change) for field, change in entry.changes.items()},
        "timestamp": entry.timestamp,
    }


def audit_from_row(row: Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        entity_type=EntityType(row["entity_type"]),
        entity_id=row["entity_id"],
        action=row["action"],
        user_id=row["user_id"],
        request_id=row["request_id"],
        changes={field: (old, new) for field, (old, new) in row["changes"].items()},
        timestamp=row["timestamp"],
    )


def dispatch_row(dispatch: Dispatch) -> dict[str, Any]:
    return {
        "id": dispatch.id,
        "kind": dispatch.kind.value,
        "run_id": dispatch.run_id,
        "created_at": dispatch.created_at,
        "request_id": dispatch.request_id,
    }


def dispatch_from_row(row: Row) -> Dispatch:
    return Dispatch(
        id=row["id"],
        kind=DispatchKind(row["kind"]),
        run_id=RunId(row["run_id"]),
        created_at=row["created_at"],
        request_id=row["request_id"],
    )
