"""`/api/v1/runs`: read runs, their steps and event log; cancel and retry them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import attrs
from aiohttp import web

from adapters_http.server.bodies import BodyReader
from adapters_http.server.context import actor
from adapters_http.server.params import parse_query, path_id
from adapters_http.server.responses import json_body, page_body
from adapters_http.server.schemas.queries import PageQuery, RunListQuery
from adapters_http.server.schemas.runs import EventResponse, RetryBody, RunResponse, StepResponse
from wfcore.domain.ids import RunId
from wfcore.ports.persistence import Page
from wfcore.use_cases.runs import CancelRun, RunCommands, RunQueries

COLLECTION = "/api/v1/runs"
ITEM = COLLECTION + "/{run_id}"

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

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(COLLECTION, self.list),
            web.get(ITEM, self.get),
            web.get(ITEM + "/steps", self.steps),
            web.get(ITEM + "/logs", self.logs),
            web.post(ITEM + "/retry", self.retry),
            web.post(ITEM + "/cancel", self.cancel),
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
