"""Answers the demo agent does not give: an agent server on loopback that misbehaves in odd ways."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters_http.client import HttpAgentInvoker
from fixtures.agents import agent_at, call_to

DEEP = 100_000


def odd_agent_app() -> web.Application:
    async def no_content(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def broken_json(request: web.Request) -> web.Response:
        return web.Response(text='{"half": ', content_type="application/json")

    async def deep_json(request: web.Request) -> web.Response:
        return web.Response(text="[" * DEEP + "]" * DEEP, content_type="application/json")

    async def problem_json(request: web.Request) -> web.Response:
        return web.Response(text='{"ok": true}', content_type="application/problem+json")

    async def latin1_text(request: web.Request) -> web.Response:
        return web.Response(body="café".encode("latin-1"), content_type="text/plain", charset="latin-1")

    async def hang_up(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    app = web.Application()
    app.add_routes(
        [
            web.post("/no-content", no_content),
            web.post("/broken-json", broken_json),
            web.post("/deep-json", deep_json),
            web.post("/problem-json", problem_json),
            web.post("/latin1", latin1_text),
            web.post("/hang-up", hang_up),
        ]
    )
    return app


@pytest.fixture
async def odd_agent() -> AsyncIterator[TestServer]:
    server = TestServer(odd_agent_app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def test_an_empty_2xx_body_is_no_output(invoker: HttpAgentInvoker, odd_agent: TestServer) -> None:
    reply = await invoker.invoke(call_to(agent_at(str(odd_agent.make_url("/no-content"))), {}))

    assert reply.ok
    assert reply.http_status == 204
    assert reply.output is None


@pytest.mark.parametrize("path", ["/broken-json", "/deep-json"])
async def test_json_that_cannot_be_parsed_fails_without_retry(
    invoker: HttpAgentInvoker, odd_agent: TestServer, path: str
) -> None:
    reply = await invoker.invoke(call_to(agent_at(str(odd_agent.make_url(path))), {}))

    assert reply.error_code == "agent_error"
    assert not reply.retryable
    assert reply.http_status == 200
    assert "invalid JSON" in (reply.error_message or "")
    assert reply.body_excerpt


async def test_a_json_suffix_content_type_is_json(invoker: HttpAgentInvoker, odd_agent: TestServer) -> None:
    reply = await invoker.invoke(call_to(agent_at(str(odd_agent.make_url("/problem-json"))), {}))

    assert reply.output == {"ok": True}


async def test_text_is_decoded_with_its_charset(invoker: HttpAgentInvoker, odd_agent: TestServer) -> None:
    reply = await invoker.invoke(call_to(agent_at(str(odd_agent.make_url("/latin1"))), {}))

    assert reply.output == {"text": "café"}


async def test_a_dropped_connection_is_a_retryable_connection_error(
    invoker: HttpAgentInvoker, odd_agent: TestServer
) -> None:
    reply = await invoker.invoke(call_to(agent_at(str(odd_agent.make_url("/hang-up"))), {}))

    assert reply.error_code == "connection_error"
    assert reply.retryable
