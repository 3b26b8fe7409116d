"""`/api/v1/workflows`: versioned definitions, validation, and executing a workflow."""

from __future__ import annotations

import attrs
from aiohttp import web

from adapters_http.server.bodies import BodyReader
from adapters_http.server.context import actor
from adapters_http.server.converter import structure
from adapters_http.server.endpoints import Endpoint, HeaderParameter, PathParameter, Reply, RequestBody, Tag
from adapters_http.server.openapi import examples
from adapters_http.server.params import header_text, parse_query, path_id
from adapters_http.server.responses import json_body, no_content, page_body
from adapters_http.server.routes.common import LOCATION, USER_ID, deleted
from adapters_http.server.schemas.common import PageResponse
from adapters_http.server.schemas.queries import PageQuery, WorkflowListQuery, WorkflowVersionQuery
from adapters_http.server.schemas.runs import ExecuteBody, RunResponse
from adapters_http.server.schemas.workflows import (
    ValidationResponse,
    WorkflowBody,
    WorkflowSummary,
    WorkflowVersionResponse,
    version_response,
)
from wfcore.domain.ids import WorkflowId
from wfcore.use_cases.execution import ExecuteWorkflowHandler
from wfcore.use_cases.workflows import SaveWorkflow, WorkflowCatalog

COLLECTION = "/api/v1/workflows"
ITEM = COLLECTION + "/{workflow_id}"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255
WORKFLOW_ID = PathParameter(
    "workflow_id", "The workflow's id.", sources=((WorkflowVersionResponse, "id"), (RunResponse, "workflow_id"))
)
IDEMPOTENCY_KEY = HeaderParameter(
    IDEMPOTENCY_KEY_HEADER,
    "Makes the execute safe to repeat: kept at least 24 hours per workflow.",
    max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
)
RUN_LOCATION = {"Location": "The path of the run."}


def _workflow_id(request: web.Request) -> WorkflowId:
    return WorkflowId(path_id(request, "workflow_id", "workflow"))


@attrs.frozen
class WorkflowRoutes:
    catalog: WorkflowCatalog
    execute_workflow: ExecuteWorkflowHandler
    bodies: BodyReader

    def endpoints(self) -> list[Endpoint]:
        version = Reply(200, "The version.", WorkflowVersionResponse, examples.WORKFLOW_VERSION)
        definition = RequestBody(WorkflowBody, "The workflow definition.", examples.WORKFLOW_BODY)
        run = Reply(202, "The run, accepted: it is pending.", RunResponse, examples.RUN, headers=RUN_LOCATION)
        return [
            Endpoint(
                "POST",
                COLLECTION,
                self.create,
                operation_id="createWorkflow",
                tag=Tag.WORKFLOWS,
                summary="Create a workflow",
                description=(
                    "Saves version 1 of a new workflow. Every rule is checked first (step ids, dependencies "
                    "without cycles, expressions, active agents): a 422 lists each broken one."
                ),
                body=definition,
                headers=(USER_ID,),
                replies=(
                    Reply(
                        201, "Version 1, saved.", WorkflowVersionResponse, examples.WORKFLOW_VERSION, headers=LOCATION
                    ),
                ),
                errors=(409,),
            ),
            Endpoint(
                "GET",
                COLLECTION,
                self.list,
                operation_id="listWorkflows",
                tag=Tag.WORKFLOWS,
                summary="List workflows",
                description="The workflows that are not deleted, each with its latest version number.",
                query=WorkflowListQuery,
                replies=(
                    Reply(
                        200,
                        "A page of workflows.",
                        PageResponse[WorkflowSummary],
                        examples.page_of(examples.WORKFLOW_SUMMARY),
                    ),
                ),
            ),
            Endpoint(
                "POST",
                COLLECTION + "/validate",
                self.validate,
                operation_id="validateWorkflow",
                tag=Tag.WORKFLOWS,
                summary="Validate a workflow definition",
                description="Checks a definition as create would, and shows its execution plan. Nothing is stored.",
                body=definition,
                replies=(Reply(200, "The definition is valid: its plan.", ValidationResponse, examples.VALIDATION),),
            ),
            Endpoint(
                "GET",
                ITEM,
                self.get,
                operation_id="getWorkflow",
                tag=Tag.WORKFLOWS,
                summary="Read a workflow",
                description="The latest version, or the one `version` names, exactly as saved.",
                path_parameters=(WORKFLOW_ID,),
                query=WorkflowVersionQuery,
                replies=(version,),
            ),
            Endpoint(
                "PUT",
                ITEM,
                self.update,
                operation_id="updateWorkflow",
                tag=Tag.WORKFLOWS,
                summary="Save a new version",
                description="Saves the definition as version N+1; earlier versions never change.",
                path_parameters=(WORKFLOW_ID,),
                body=definition,
                headers=(USER_ID,),
                replies=(Reply(200, "The new version.", WorkflowVersionResponse, examples.WORKFLOW_VERSION),),
                errors=(409,),
            ),
            Endpoint(
                "DELETE",
                ITEM,
                self.delete,
                operation_id="deleteWorkflow",
                tag=Tag.WORKFLOWS,
                summary="Delete a workflow",
                description="A soft delete: the workflow disappears from reads; its runs stay readable.",
                path_parameters=(WORKFLOW_ID,),
                headers=(USER_ID,),
                replies=(deleted("workflow"),),
            ),
            Endpoint(
                "GET",
                ITEM + "/versions",
                self.versions,
                operation_id="listWorkflowVersions",
                tag=Tag.WORKFLOWS,
                summary="List a workflow's versions",
                description="Every version, newest first.",
                path_parameters=(WORKFLOW_ID,),
                query=PageQuery,
                replies=(
                    Reply(
                        200,
                        "A page of versions.",
                        PageResponse[WorkflowVersionResponse],  # type: ignore[valid-type]
                        examples.page_of(examples.WORKFLOW_VERSION),
                    ),
                ),
            ),
            Endpoint(
                "POST",
                ITEM + "/execute",
                self.execute,
                operation_id="executeWorkflow",
                tag=Tag.WORKFLOWS,
                summary="Execute a workflow",
                description=(
                    "Starts a run of the latest version (or `version`), its input checked against the "
                    "`input_schema`. The 202 is sent once the run is durable. With an `Idempotency-Key`, a "
                    "repeat of the same request returns the first run (a 200); the same key with another body "
                    "is a 422. An inactive workflow is a 409."
                ),
                path_parameters=(WORKFLOW_ID,),
                body=RequestBody(ExecuteBody, "The run's input; no body runs with `{}`.", examples.EXECUTE, False),
                headers=(IDEMPOTENCY_KEY, USER_ID),
                replies=(
                    run,
                    Reply(
                        200,
                        "The run an earlier request with this key started.",
                        RunResponse,
                        examples.RUN,
                        headers=RUN_LOCATION,
                    ),
                ),
                errors=(409,),
            ),
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
