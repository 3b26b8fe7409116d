"""Audit entries: who changed what, written in the same transaction as the change."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from wfcore.domain.agents import MASK


class EntityType(enum.StrEnum):
    AGENT = "agent"
    WORKFLOW = "workflow"
    RUN = "run"


@attrs.frozen
class AuditEntry:
    id: str
    entity_type: EntityType
    entity_id: str
    action: str
    user_id: str
    request_id: str | None
    changes: Mapping[str, tuple[Any, Any]]
    timestamp: datetime


def diff(
    old: Mapping[str, Any], new: Mapping[str, Any], *, secret_fields: frozenset[str] = frozenset()
) -> dict[str, tuple[Any, Any]]:
    """`{field: (old, new)}` for each field that differs; secret fields show only as `***`."""
    changes: dict[str, tuple[Any, Any]] = {}
    for field in sorted(set(old) | set(new)):
        before, after = old.get(field), new.get(field)
        if before == after:
            continue
        if field in secret_fields:
            before = MASK if before is not None else None
            after = MASK if after is not None else None
        changes[field] = (before, after)
    return changes
