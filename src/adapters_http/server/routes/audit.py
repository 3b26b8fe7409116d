"""`GET /api/v1/audit-logs`: who changed what, newest first."""

from __future__ import annotations

import attrs
from aiohttp import web

from adapters_http.server.params import parse_query
from adapters_http.server.responses import page_body
from adapters_http.server.schemas.audit import AuditEntryResponse
from adapters_http.server.schemas.queries import AuditListQuery
from wfcore.use_cases.audit import AuditQueries


@attrs.frozen
class AuditRoutes:
    queries: AuditQueries

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/audit-logs", self.list)]

    async def list(self, request: web.Request) -> web.Response:
        query = parse_query(request.query, AuditListQuery)
        page = await self.queries.list(query.to_query())
        return page_body(page, AuditEntryResponse.from_entry, AuditEntryResponse)
