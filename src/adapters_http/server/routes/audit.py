"""`GET /api/v1/audit-logs`: who changed what, newest first."""

from __future__ import annotations

import attrs
from aiohttp import web

from adapters_http.server.endpoints import Endpoint, Reply, Tag
from adapters_http.server.openapi import examples
from adapters_http.server.params import parse_query
from adapters_http.server.responses import page_body
from adapters_http.server.schemas.audit import AuditEntryResponse
from adapters_http.server.schemas.common import PageResponse
from adapters_http.server.schemas.queries import AuditListQuery
from wfcore.use_cases.audit import AuditQueries


@attrs.frozen
class AuditRoutes:
    queries: AuditQueries

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/api/v1/audit-logs",
                self.list,
                operation_id="listAuditEntries",
                tag=Tag.AUDIT,
                summary="Read the audit log",
                description=(
                    "Every create, update, delete, execute, retry, cancel and health check, newest first, "
                    "each written in the same transaction as the change itself. Secrets show as `***`."
                ),
                query=AuditListQuery,
                replies=(
                    Reply(
                        200,
                        "A page of entries.",
                        PageResponse[AuditEntryResponse],
                        examples.page_of(examples.AUDIT_ENTRY),
                    ),
                ),
            )
        ]

    async def list(self, request: web.Request) -> web.Response:
        query = parse_query(request.query, AuditListQuery)
        page = await self.queries.list(query.to_query())
        return page_body(page, AuditEntryResponse.from_entry, AuditEntryResponse)
