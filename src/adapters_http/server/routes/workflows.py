"""`/api/v1/workflows`: versioned definitions, validation, and executing a workflow."""

from __future__ import annotations

import attrs
from aiohttp import web

from adapters_http.server.bodies import BodyReader
from adapters_http.server.context import actor
from adapters_http.server.converter import structure
from adapters_http.server.params import header_text, parse_query, path_id
from adapters_http.server.responses import json_body, no_content, page_body
from adapters_http.server.schemas.queries import PageQuery, WorkflowListQuery, WorkflowVersionQuery
from adapters_http.server.schemas.runs import ExecuteBody, RunResponse
from adapters_http.server.schemas.workflows import (
    ValidationResponse,
    WorkflowBody,
    WorkflowSummary,
    version_response,
)
from wfcore.domain.ids import WorkflowId
from wfcore.use_cases.execution import ExecuteWorkflowHandler
from wfcore.use_cases.workflows import SaveWorkflow, WorkflowCatalog

COLLECTION = "/api/v1/workflows"
ITEM = COLLECTION + "/{workflow_id}"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255


def _workflow_id(request: web.Request) -> WorkflowId:
    return WorkflowId(path_id(request, "workflow_id", "workflow"))


@attrs.frozen
class WorkflowRoutes:
    catalog: WorkflowCatalog
    execute_workflow: ExecuteWorkflowHandler
    bodies: BodyReader

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(COLLECTION, self.create),
            web.get(COLLECTION, self.list),
            web.post(COLLECTION + "/validate", self.validate),
            web.get(ITEM, self.get),
            web.put(ITEM, self.update),
            web.delete(ITEM, self.delete),
            web.get(ITEM + "/versions", self.versions),
            web.post(ITEM + "/execute", self.execute),
        ]

    async def _save_command(self, request: web.Request) -> SaveWorkflow:
        document = await self.bodies.read_json(request)
        body = structure(document, WorkflowBody)
        return SaveWorkflow(definition=body.to_definition(), document=document, actor=actor(request))

    async def create(self, request: web.Request) -> web.Response:
        version = await self.catalog.create(await self._save_command(request))
        location = f"{COLLECTION}/{version.workflow_id}"
        return json_body(version_response(version), status=201, headers={"Location": location})

    async def list(self, request: web.Request) -> web.Response:
        query = parse_query(request.query, WorkflowListQuery)
        page = await self.catalog.list(query.to_query())
        return page_body(page, WorkflowSummary.from_workflow, WorkflowSummary)

    async def validate(self, request: web.Request) -> web.Response:
        body = await self.bodies.read(request, WorkflowBody)
        report = await self.catalog.validate(body.to_definition())
        return json_body(ValidationResponse.from_report(report))

    async def get(self, request: web.Request) -> web.Response:
        query = parse_query(request.query, WorkflowVersionQuery)
        workflow, version = await self.catalog.get(_workflow_id(request), query.version)
        return json_body(version_response(version, workflow))

    async def update(self, request: web.Request) -> web.Response:
        version = await self.catalog.update(_workflow_id(request), await self._save_command(request))
        return json_body(version_response(version))

    async def delete(self, request: web.Request) -> web.Response:
        await self.catalog.delete(_workflow_id(request), actor(request))
        return no_content()

    async def versions(self, request: web.Request) -> web.Response:
        workflow_id = _workflow_id(request)
        query = parse_query(request.query, PageQuery)
        workflow, _ = await self.catalog.get(workflow_id)
        page = await self.catalog.versions(workflow_id, limit=query.limit, offset=query.offset)
        return page_body(page, lambda version: version_response(version, workflow), dict)

    async def execute(self, request: web.Request) -> web.Response:
        workflow_id = _workflow_id(request)
        key = header_text(request, IDEMPOTENCY_KEY_HEADER, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
        body = await self.bodies.read(request, ExecuteBody, optional=True)
        execution = await self.execute_workflow(body.to_command(workflow_id, key, actor(request)))
        run = RunResponse.from_run(execution.run)
        location = {"Location": f"/api/v1/runs/{execution.run.id}"}
        return json_body(run, status=202 if execution.created else 200, headers=location)
