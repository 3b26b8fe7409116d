"""Query parameters of the list and read endpoints, as declarative classes.

`params.parse_query` fills them from the query string and enforces the `minimum`, `maximum`, `enum`
and `format` keywords of their metadata; the OpenAPI document publishes the same classes.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from adapters_http.server.schemas.common import doc
from adapters_http.server.schemas.rules import VERSION_RULES
from wfcore.domain.agents import AgentStatus
from wfcore.domain.audit import EntityType
from wfcore.domain.ids import WorkflowId
from wfcore.domain.runs import RunStatus
from wfcore.domain.workflows import WorkflowStatus
from wfcore.ports.persistence import AgentQuery, AuditQuery, RunQuery, Sort, WorkflowQuery

MAX_PAGE_SIZE = 100


def sort_choices(*fields: str) -> list[str]:
    """Each field ascending, and descending with a `-` prefix."""
    return [*fields, *(f"-{field}" for field in fields)]


def to_sort(value: str) -> Sort:
    return Sort(value.removeprefix("-"), descending=value.startswith("-"))


@attrs.frozen
class PageQuery:
    limit: int = attrs.field(default=20, metadata=doc("Page size.", minimum=1, maximum=MAX_PAGE_SIZE))
    offset: int = attrs.field(default=0, metadata=doc("How many entries to skip.", minimum=0))


@attrs.frozen
class AgentListQuery(PageQuery):
    status: AgentStatus | None = attrs.field(default=None, metadata=doc("Only agents in this status."))
    name: str | None = attrs.field(default=None, metadata=doc("A part of the name, case-insensitive."))
    sort: str = attrs.field(
        default="created_at",
        metadata=doc("Sort field; `-` prefix for descending.", enum=sort_choices("name", "created_at", "updated_at")),
    )

    def to_query(self) -> AgentQuery:
        return AgentQuery(
            status=self.status, name_contains=self.name, sort=to_sort(self.sort), limit=self.limit, offset=self.offset
        )


@attrs.frozen
class WorkflowListQuery(PageQuery):
    status: WorkflowStatus | None = attrs.field(default=None, metadata=doc("Only workflows in this status."))
    name: str | None = attrs.field(default=None, metadata=doc("A part of the name, case-insensitive."))
    sort: str = attrs.field(
        default="created_at",
        metadata=doc("Sort field; `-` prefix for descending.", enum=sort_choices("name", "created_at", "updated_at")),
    )

    def to_query(self) -> WorkflowQuery:
        return WorkflowQuery(
            status=self.status, name_contains=self.name, sort=to_sort(self.sort), limit=self.limit, offset=self.offset
        )


@attrs.frozen
class WorkflowVersionQuery:
    version: int | None = attrs.field(default=None, metadata=doc("A version other than the latest.", **VERSION_RULES))


@attrs.frozen
class RunListQuery(PageQuery):
    workflow_id: str | None = attrs.field(default=None, metadata=doc("Runs of this workflow.", format="uuid"))
    status: list[RunStatus] = attrs.field(factory=list, metadata=doc("Runs in any of these states (repeatable)."))
    triggered_by: str | None = attrs.field(default=None, metadata=doc("Runs started by this user."))
    created_after: datetime | None = attrs.field(default=None, metadata=doc("Created at or after this time."))
    created_before: datetime | None = attrs.field(default=None, metadata=doc("Created before this time."))
    sort: str = attrs.field(
        default="-created_at",
        metadata=doc(
            "Sort field; `-` prefix for descending.", enum=sort_choices("created_at", "started_at", "finished_at")
        ),
    )

    def to_query(self) -> RunQuery:
        return RunQuery(
            workflow_id=WorkflowId(self.workflow_id) if self.workflow_id else None,
            statuses=tuple(self.status),
            triggered_by=self.triggered_by,
            created_after=self.created_after,
            created_before=self.created_before,
            sort=to_sort(self.sort),
            limit=self.limit,
            offset=self.offset,
        )


@attrs.frozen
class AuditListQuery(PageQuery):
    entity_type: EntityType | None = attrs.field(default=None, metadata=doc("agent, workflow or run."))
    entity_id: str | None = attrs.field(default=None, metadata=doc("Entries about this entity.", format="uuid"))
    user_id: str | None = attrs.field(default=None, metadata=doc("Entries by this user."))
    action: str | None = attrs.field(default=None, metadata=doc("create, update, delete, execute, ..."))
    since: datetime | None = attrs.field(default=None, metadata=doc("At or after this time."))
    until: datetime | None = attrs.field(default=None, metadata=doc("Before this time."))

    def to_query(self) -> AuditQuery:
        return AuditQuery(
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            user_id=self.user_id,
            action=self.action,
            since=self.since,
            until=self.until,
            limit=self.limit,
            offset=self.offset,
        )
