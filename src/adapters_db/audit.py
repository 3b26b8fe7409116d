"""The audit log: entries appended in the transaction of the change they record, listed newest first."""

from __future__ import annotations

import sqlalchemy as sa

from adapters_db import mappers
from adapters_db.paging import fetch_page, time_range
from adapters_db.tables import audit_log
from adapters_db.transaction import Transaction
from wfcore.domain.audit import AuditEntry
from wfcore.ports.persistence import AuditQuery, Page

# Entries with the same timestamp come newest-appended first.
_NEWEST_FIRST = (audit_log.c.timestamp.desc(), audit_log.c.seq.desc())
_INSERT = sa.insert(audit_log)


class SqlAuditLog:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def append(self, entry: AuditEntry) -> None:
        await self._tx.execute(_INSERT, mappers.audit_row(entry))

    async def list(self, query: AuditQuery) -> Page[AuditEntry]:
        where: list[sa.ColumnElement[bool]] = []
        if query.entity_type is not None:
            where.append(audit_log.c.entity_type == query.entity_type.value)
        if query.entity_id is not None:
            where.append(audit_log.c.entity_id == query.entity_id)
        if query.user_id is not None:
            where.append(audit_log.c.user_id == query.user_id)
        if query.action is not None:
            where.append(audit_log.c.action == query.action)
        where.extend(time_range(audit_log.c.timestamp, query.since, query.until))
        return await fetch_page(
            self._tx, audit_log, where, _NEWEST_FIRST, query.limit, query.offset, mappers.audit_from_row
        )
