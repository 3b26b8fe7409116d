"""The demo agent: a small real agent server for trying wf and for tests (`wf demo-agent`).

Each POST endpoint takes the agent call body of contract §2 and works on its `input`:

- `POST /echo`: answers the input.
- `POST /uppercase`: answers the input with every string in it uppercased, however deeply nested.
- `POST /sleep`: waits `input.seconds` (default 1), then answers the input. A caller that hangs up
  meanwhile is recorded as an abort (see `GET /calls`).
- `POST /fail`: answers `input.status` (400-599, default 500) with `{"error", "input"}` the first
  `input.times` (default 1) times it is called with an `Idempotency-Key`, then answers the input;
  `input.retry_after`, when set, is sent as the `Retry-After` header of each failure.
- `POST /text`: answers `input.text` (default "hello from the demo agent") as `text/plain`.
- `POST /big`: answers `input.bytes` bytes of `text/plain`; with `input.chunked` true, in chunked
  transfer encoding, without a `Content-Length`.
- `POST /redirect`: answers 302 to `input.location`.
- `GET /health`: answers `{"status": "ok"}`; `?status=N` answers status N (and "failing" from 400)
  instead, `?delay=S` answers after S seconds.
- `GET /calls`: every request received (but those to `/calls`), oldest first, as JSON objects with
  `method`, `path`, `idempotency_key`, `request_id`, `headers` (authorization, x-api-key and
  user-agent, when sent), `body` (parsed JSON, or the text when it is not JSON), `received_at` (when
  the request arrived, ISO 8601 in UTC) and `aborted`.
- `DELETE /calls`: forgets every recorded request (so `/fail` counts from zero again).

Aborts are seen when the server cancels the handler of a request whose client hung up: serve the
app with `handler_cancellation=True`, as `run_demo_agent` and aiohttp's `TestServer` do.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import attrs
from aiohttp import web

log = logging.getLogger(__name__)

RECORDED_HEADERS = ("authorization", "x-api-key", "user-agent")
CHUNK_BYTES = 65_536


@attrs.define
class RecordedCall:
    """One request the demo agent received."""

    method: str
    path: str
    idempotency_key: str | None
    request_id: str | None
    headers: dict[str, str]
    body: Any
    received_at: datetime
    aborted: bool = False

    @property
    def input(self) -> Any:
        """The `input` of a contract §2 call body, None when the body is not one."""
        return self.body.get("input") if isinstance(self.body, dict) else None

    def as_json(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "received_at": self.received_at.isoformat()}


CALLS = web.AppKey("calls", list[RecordedCall])
CALL = web.RequestKey("call", RecordedCall)


@web.middleware
async def record_calls(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path == "/calls":
        return await handler(request)
    call = RecordedCall(
        received_at=datetime.now(UTC),
        method=request.method,
        path=request.path,
        idempotency_key=request.headers.get("Idempotency-Key"),
        request_id=request.headers.get("X-Request-ID"),
        headers={name: request.headers[name] for name in RECORDED_HEADERS if name in request.headers},
        body=_parsed(await request.text()),
    )
    request.app[CALLS].append(call)
    request[CALL] = call
    try:
        return await handler(request)
    except asyncio.CancelledError:
        call.aborted = True
        raise


def _parsed(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _input(request: web.Request) -> dict[str, Any]:
    """The call's input, which these endpoints need to be an object (or absent)."""
    value = request[CALL].input
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise web.HTTPBadRequest(text="send a JSON object with an object `input` (contract §2)")
    return value


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise web.HTTPBadRequest(text=f"{name} must be a number between {low} and {high}")
    return float(value)


def _query_number(request: web.Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.query.get(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a number between {low} and {high}") from None
    return _number(value, name, low, high)


def uppercased(value: Any) -> Any:
    """`value` with every string in it uppercased, however deeply nested."""
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, list):
        return [uppercased(item) for item in value]
    if isinstance(value, dict):
        return {key: uppercased(item) for key, item in value.items()}
    return value


async def echo(request: web.Request) -> web.Response:
    return web.json_response(request[CALL].input)


async def uppercase(request: web.Request) -> web.Response:
    return web.json_response(uppercased(request[CALL].input))


async def sleep(request: web.Request) -> web.Response:
    seconds = _number(_input(request).get("seconds", 1), "input.seconds", 0, 3600)
    await asyncio.sleep(seconds)
    return web.json_response(request[CALL].input)


async def fail(request: web.Request) -> web.Response:
    given = _input(request)
    status = int(_number(given.get("status", 500), "input.status", 400, 599))
    times = int(_number(given.get("times", 1), "input.times", 0, 1_000_000))
    call = request[CALL]
    earlier = [
        other
        for other in request.app[CALLS]
        if other is not call and other.path == call.path and other.idempotency_key == call.idempotency_key
    ]
    if len(earlier) >= times:
        return web.json_response(call.input)
    headers = {"Retry-After": str(given["retry_after"])} if "retry_after" in given else {}
    failure = {"error": f"failing as asked ({len(earlier) + 1} of {times})", "input": given}
    return web.json_response(failure, status=status, headers=headers)


async def text(request: web.Request) -> web.Response:
    return web.Response(text=str(_input(request).get("text", "hello from the demo agent")))


async def big(request: web.Request) -> web.StreamResponse:
    given = _input(request)
    size = int(_number(given.get("bytes", 0), "input.bytes", 0, 64 * 1_048_576))
    if not given.get("chunked"):
        return web.Response(body=b"x" * size, content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for start in range(0, size, CHUNK_BYTES):
        await response.write(b"x" * min(CHUNK_BYTES, size - start))
    await response.write_eof()
    return response


async def redirect(request: web.Request) -> web.Response:
    location = _input(request).get("location")
    if not isinstance(location, str) or not location:
        raise web.HTTPBadRequest(text="input.location must be the URL to redirect to")
    raise web.HTTPFound(location)


async def health(request: web.Request) -> web.Response:
    status = int(_query_number(request, "status", 200, 200, 599))
    await asyncio.sleep(_query_number(request, "delay", 0, 0, 3600))
    return web.json_response({"status": "ok" if status < 400 else "failing"}, status=status)


async def list_calls(request: web.Request) -> web.Response:
    return web.json_response([call.as_json() for call in request.app[CALLS]])


async def clear_calls(request: web.Request) -> web.Response:
    request.app[CALLS].clear()
    return web.Response(status=204)


def create_demo_agent_app() -> web.Application:
    """A new demo agent, with no call recorded yet."""
    app = web.Application(middlewares=[record_calls])
    app[CALLS] = []
    app.add_routes(
        [
            web.post("/echo", echo),
            web.post("/uppercase", uppercase),
            web.post("/sleep", sleep),
            web.post("/fail", fail),
            web.post("/text", text),
            web.post("/big", big),
            web.post("/redirect", redirect),
            web.get("/health", health),
            web.get("/calls", list_calls),
            web.delete("/calls", clear_calls),
        ]
    )
    return app


async def run_demo_agent(host: str, port: int) -> None:
    """Serve the demo agent on `host:port` until the task is cancelled."""
    runner = web.AppRunner(create_demo_agent_app(), handler_cancellation=True)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("demo agent listening on http://%s:%d", host, port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
