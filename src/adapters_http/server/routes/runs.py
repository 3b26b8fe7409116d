"""`/api/v1/runs`: read runs, their steps and event log; cancel and retry them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import attrs
from aiohttp import web

from adapters_http.server.bodies import BodyReader
from adapters_http.server.context import actor
from adapters_http.server.endpoints import Endpoint, PathParameter, Reply, RequestBody, Tag
from adapters_http.server.openapi import examples
from adapters_http.server.params import parse_query, path_id
from adapters_http.server.responses import json_body, page_body
from adapters_http.server.routes.common import LOCATION, USER_ID
from adapters_http.server.schemas.common import PageResponse
from adapters_http.server.schemas.queries import PageQuery, RunListQuery
from adapters_http.server.schemas.runs import EventResponse, RetryBody, RunResponse, StepResponse
from wfcore.domain.ids import RunId
from wfcore.ports.persistence import Page
from wfcore.use_cases.runs import CancelRun, RunCommands, RunQueries

COLLECTION = "/api/v1/runs"
ITEM = COLLECTION + "/{run_id}"
RUN_ID = PathParameter("run_id", "The run's id.", sources=((RunResponse, "id"),))

E = TypeVar("E")


def run_id_of(request: web.Request) -> RunId:
    return RunId(path_id(request, "run_id", "run"))


def _page_of(items: Sequence[E], query: PageQuery) -> Page[E]:
    return Page(
        items=items[query.offset : query.offset + query.limit], total=len(items), limit=query.limit, offset=query.offset
    )


@attrs.frozen
class RunRoutes:
    queries: RunQueries
    commands: RunCommands
    bodies: BodyReader

    def endpoints(self) -> list[Endpoint]:
        run = Reply(202, "The run, as the command left it.", RunResponse, examples.RUN, headers=LOCATION)
        return [
            Endpoint(
                "GET",
                COLLECTION,
                self.list,
                operation_id="listRuns",
                tag=Tag.RUNS,
                summary="List runs",
                description="Runs of every workflow, filtered; newest first by default.",
                query=RunListQuery,
                replies=(Reply(200, "A page of runs.", PageResponse[RunResponse], examples.page_of(examples.RUN)),),
            ),
            Endpoint(
                "GET",
                ITEM,
                self.get,
                operation_id="getRun",
                tag=Tag.RUNS,
                summary="Read a run",
                description="One run: its status, input, output or error, and its times.",
                path_parameters=(RUN_ID,),
                replies=(Reply(200, "The run.", RunResponse, examples.RUN),),
            ),
            Endpoint(
                "GET",
                ITEM + "/steps",
                self.steps,
                operation_id="listRunSteps",
                tag=Tag.RUNS,
                summary="List a run's steps",
                description="The run's step executions in the workflow's step order, paged like every list.",
                path_parameters=(RUN_ID,),
                query=PageQuery,
                replies=(Reply(200, "A page of steps.", PageResponse[StepResponse], examples.page_of(examples.STEP)),),
            ),
            Endpoint(
                "GET",
                ITEM + "/logs",
                self.logs,
                operation_id="listRunEvents",
                tag=Tag.RUNS,
                summary="Read a run's event log",
                description="The run's events in the order they happened (by `seq`), paged like every list.",
                path_parameters=(RUN_ID,),
                query=PageQuery,
                replies=(
                    Reply(200, "A page of events.", PageResponse[EventResponse], examples.page_of(examples.EVENT)),
                ),
            ),
            Endpoint(
                "POST",
                ITEM + "/retry",
                self.retry,
                operation_id="retryRun",
                tag=Tag.RUNS,
                summary="Retry a run",
                description=(
                    "Redrives a failed or cancelled run: succeeded steps keep their outputs, the others run "
                    "again, and the run is pending with `attempt + 1`. `from_step` also reruns that step and "
                    "everything downstream of it. Retrying a pending, running or succeeded run is a 409."
                ),
                path_parameters=(RUN_ID,),
                body=RequestBody(
                    RetryBody, "Where to restart; no body keeps every succeeded step.", examples.RETRY, required=False
                ),
                headers=(USER_ID,),
                replies=(run,),
                errors=(409,),
            ),
            Endpoint(
                "POST",
                ITEM + "/cancel",
                self.cancel,
                operation_id="cancelRun",
                tag=Tag.RUNS,
                summary="Cancel a run",
                description=(
                    "A pending run is cancelled at once; a running one records the request and is cancelled "
                    "once its in-flight calls are aborted. Cancelling a cancelled run changes nothing (a 202); "
                    "cancelling a succeeded or failed run is a 409."
                ),
                path_parameters=(RUN_ID,),
                headers=(USER_ID,),
                replies=(run,),
                errors=(409,),
            ),
        ]

    async def list(self, request: web.Request) -> web.Response:
        query = parse_query(request.query, RunListQuery)
        page = await self.queries.list(query.to_query())
        return page_body(page, RunResponse.from_run, RunResponse)

    async def get(self, request: web.Request) -> web.Response:
        return json_body(RunResponse.from_run(await self.queries.get(run_id_of(request))))

    async def steps(self, request: web.Request) -> web.Response:
        run_id = run_id_of(request)
        query = parse_query(request.query, PageQuery)
        steps = await self.queries.steps(run_id)
        return page_body(_page_of(steps, query), StepResponse.from_step, StepResponse)

    async def logs(self, request: web.Request) -> web.Response:
        run_id = run_id_of(request)
        query = parse_query(request.query, PageQuery)
        events = await self.queries.events(run_id)
        return page_body(_page_of(events, query), EventResponse.from_event, EventResponse)

    async def retry(self, request: web.Request) -> web.Response:
        run_id = run_id_of(request)
        body = await self.bodies.read(request, RetryBody, optional=True)
        run = await self.commands.retry(body.to_command(run_id, actor(request)))
        return json_body(RunResponse.from_run(run), status=202, headers={"Location": f"{COLLECTION}/{run.id}"})

    async def cancel(self, request: web.Request) -> web.Response:
        run = await self.commands.cancel(CancelRun(run_id=run_id_of(request), actor=actor(request)))
        return json_body(RunResponse.from_run(run), status=202, headers={"Location": f"{COLLECTION}/{run.id}"})
