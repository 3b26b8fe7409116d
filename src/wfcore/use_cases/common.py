"""What every use case is built with and called with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from wfcore.domain.audit import AuditEntry, EntityType
from wfcore.ports.persistence import UnitOfWork
from wfcore.ports.system import Clock, IdGenerator

UnitOfWorkFactory = Callable[[], UnitOfWork]


@attrs.frozen
class Actor:
    """Who asked, for audit entries and correlation: the principal and the request id."""

    user_id: str = "anonymous"
    request_id: str | None = None


@attrs.frozen
class Services:
    """The ports that nearly every use case needs."""

    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator


def audit_entry(
    services: Services,
    entity_type: EntityType,
    entity_id: str,
    action: str,
    actor: Actor,
    changes: Mapping[str, tuple[Any, Any]],
) -> AuditEntry:
    """The audit entry of `actor` doing `action` to an entity, stamped now."""
    return AuditEntry(
        id=services.ids.new_id(),
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        user_id=actor.user_id,
        request_id=actor.request_id,
        changes=changes,
        timestamp=services.clock.now(),
    )
