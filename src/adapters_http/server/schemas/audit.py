"""Audit log entries (contract §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from adapters_http.server.schemas.common import doc
from wfcore.domain.audit import AuditEntry, EntityType


@attrs.frozen
class AuditEntryResponse:
    """Who changed what, and when."""

    id: str = attrs.field(metadata=doc("The entry's id."))
    entity_type: EntityType = attrs.field(metadata=doc("agent, workflow or run."))
    entity_id: str = attrs.field(metadata=doc("The entity changed."))
    action: str = attrs.field(metadata=doc("create, update, delete, execute, retry, cancel or health_check."))
    user_id: str = attrs.field(metadata=doc("The principal, the X-User-ID header, or anonymous."))
    request_id: str | None = attrs.field(metadata=doc("The request that made the change."))
    changes: dict[str, list[Any]] = attrs.field(metadata=doc("`{field: [old, new]}`, secrets as `***`."))
    timestamp: datetime = attrs.field(metadata=doc("When the change was committed."))

    @classmethod
    def from_entry(cls, entry: AuditEntry) -> AuditEntryResponse:
        return cls(
            id=entry.id,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            action=entry.action,
            user_id=entry.user_id,
            request_id=entry.request_id,
            changes={field: [old, new] for field, (old, new) in entry.changes.items()},
            timestamp=entry.timestamp,
        )
