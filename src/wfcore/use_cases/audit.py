"""Reading the audit log."""

from __future__ import annotations

import attrs

from wfcore.domain.audit import AuditEntry
from wfcore.ports.persistence import AuditQuery, Page
from wfcore.use_cases.common import Services


@attrs.define
class AuditQueries:
    services: Services

    async def list(self, query: AuditQuery) -> Page[AuditEntry]:
        """Entries matching the query, newest first."""
        async with self.services.uow() as uow:
            return await uow.audit.list(query)
