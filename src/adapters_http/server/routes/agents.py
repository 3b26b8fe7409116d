"""`/api/v1/agents`: register, list, read, update, delete and health-check agents."""

from __future__ import annotations

import attrs
from aiohttp import web

from adapters_http.server.bodies import BodyReader
from adapters_http.server.context import actor
from adapters_http.server.params import parse_query, path_id
from adapters_http.server.responses import json_body, no_content, page_body
from adapters_http.server.schemas.agents import AgentCreate, AgentResponse, AgentUpdate, HealthResponse
from adapters_http.server.schemas.queries import AgentListQuery
from wfcore.domain.ids import AgentId
from wfcore.use_cases.agents import AgentRegistry

COLLECTION = "/api/v1/agents"
ITEM = COLLECTION + "/{agent_id}"


def _agent_id(request: web.Request) -> AgentId:
    return AgentId(path_id(request, "agent_id", "agent"))


@attrs.frozen
class AgentRoutes:
    registry: AgentRegistry
    bodies: BodyReader

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(COLLECTION, self.create),
            web.get(COLLECTION, self.list),
            web.get(ITEM, self.get),
            web.put(ITEM, self.update),
            web.delete(ITEM, self.delete),
            web.get(ITEM + "/health", self.health),
        ]

    async def create(self, request: web.Request) -> web.Response:
        body = await self.bodies.read(request, AgentCreate)
        agent = await self.registry.register(body.to_command(actor(request)))
        return json_body(AgentResponse.from_agent(agent), status=201, headers={"Location": f"{COLLECTION}/{agent.id}"})

    async def list(self, request: web.Request) -> web.Response:
        query = parse_query(request.query, AgentListQuery)
        page = await self.registry.list(query.to_query())
        return page_body(page, AgentResponse.from_agent, AgentResponse)

    async def get(self, request: web.Request) -> web.Response:
        return json_body(AgentResponse.from_agent(await self.registry.get(_agent_id(request))))

    async def update(self, request: web.Request) -> web.Response:
        agent_id = _agent_id(request)
        body = await self.bodies.read(request, AgentUpdate)
        current_auth_type = (await self.registry.get(agent_id)).auth.type if body.needs_current_auth_type else None
        agent = await self.registry.update(body.to_command(agent_id, actor(request), current_auth_type))
        return json_body(AgentResponse.from_agent(agent))

    async def delete(self, request: web.Request) -> web.Response:
        await self.registry.delete(_agent_id(request), actor(request))
        return no_content()

    async def health(self, request: web.Request) -> web.Response:
        result = await self.registry.check_health(_agent_id(request), actor(request))
        return json_body(HealthResponse.from_result(result))
