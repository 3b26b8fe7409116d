"""`/api/v1/agents`: register, list, read, update, delete and health-check agents."""

from __future__ import annotations

import attrs
from aiohttp import web

from adapters_http.server.bodies import BodyReader
from adapters_http.server.context import actor
from adapters_http.server.endpoints import Endpoint, PathParameter, Reply, RequestBody, Tag
from adapters_http.server.openapi import examples
from adapters_http.server.params import parse_query, path_id
from adapters_http.server.responses import json_body, no_content, page_body
from adapters_http.server.routes.common import LOCATION, USER_ID, deleted
from adapters_http.server.schemas.agents import AgentCreate, AgentResponse, AgentUpdate, HealthResponse
from adapters_http.server.schemas.common import PageResponse
from adapters_http.server.schemas.queries import AgentListQuery
from wfcore.domain.ids import AgentId
from wfcore.use_cases.agents import AgentRegistry

COLLECTION = "/api/v1/agents"
ITEM = COLLECTION + "/{agent_id}"
AGENT_ID = PathParameter("agent_id", "The agent's id.", sources=((AgentResponse, "id"),))


def _agent_id(request: web.Request) -> AgentId:
    return AgentId(path_id(request, "agent_id", "agent"))


@attrs.frozen
class AgentRoutes:
    registry: AgentRegistry
    bodies: BodyReader

    def endpoints(self) -> list[Endpoint]:
        agent = Reply(200, "The agent.", AgentResponse, examples.AGENT)
        return [
            Endpoint(
                "POST",
                COLLECTION,
                self.create,
                operation_id="createAgent",
                tag=Tag.AGENTS,
                summary="Register an agent",
                description="Registers a remote HTTP service that steps can call. Its name must be free.",
                body=RequestBody(AgentCreate, "The agent to register.", examples.AGENT_CREATE),
                headers=(USER_ID,),
                replies=(Reply(201, "The agent, registered.", AgentResponse, examples.AGENT, headers=LOCATION),),
                errors=(409,),
            ),
            Endpoint(
                "GET",
                COLLECTION,
                self.list,
                operation_id="listAgents",
                tag=Tag.AGENTS,
                summary="List agents",
                description="The agents that are not deleted, filtered and sorted.",
                query=AgentListQuery,
                replies=(
                    Reply(200, "A page of agents.", PageResponse[AgentResponse], examples.page_of(examples.AGENT)),
                ),
            ),
            Endpoint(
                "GET",
                ITEM,
                self.get,
                operation_id="getAgent",
                tag=Tag.AGENTS,
                summary="Read an agent",
                description="One agent, its secrets shown as `***`.",
                path_parameters=(AGENT_ID,),
                replies=(agent,),
            ),
            Endpoint(
                "PUT",
                ITEM,
                self.update,
                operation_id="updateAgent",
                tag=Tag.AGENTS,
                summary="Update an agent",
                description=(
                    "A full or partial update: a field left out keeps its value, `null` clears an optional one. "
                    "`auth_config` without `auth_type` is read as the current type; a secret sent as `***` keeps "
                    "the stored one. `retry_config` replaces the whole policy, its defaults filling in."
                ),
                path_parameters=(AGENT_ID,),
                body=RequestBody(AgentUpdate, "The fields to change.", examples.AGENT_UPDATE),
                headers=(USER_ID,),
                replies=(agent,),
                errors=(409,),
            ),
            Endpoint(
                "DELETE",
                ITEM,
                self.delete,
                operation_id="deleteAgent",
                tag=Tag.AGENTS,
                summary="Delete an agent",
                description=(
                    "A soft delete: the agent disappears from reads (404) but stays in the database. Workflows "
                    "that use it report it when validated, and their steps fail at run time."
                ),
                path_parameters=(AGENT_ID,),
                headers=(USER_ID,),
                replies=(deleted("agent"),),
            ),
            Endpoint(
                "GET",
                ITEM + "/health",
                self.health,
                operation_id="checkAgentHealth",
                tag=Tag.AGENTS,
                summary="Check an agent's health",
                description=(
                    "Calls the agent's `health_url` now and records the result as its `last_health` "
                    "(and in the audit log). An agent that does not answer is `unreachable`, still a 200."
                ),
                path_parameters=(AGENT_ID,),
                headers=(USER_ID,),
                replies=(Reply(200, "The result of the check.", HealthResponse, examples.HEALTH),),
            ),
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
