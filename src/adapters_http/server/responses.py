"""Writing responses from schema objects: JSON bodies, pages, server-sent events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from adapters_http.server.converter import unstructure
from adapters_http.server.schemas.common import PageResponse
from adapters_http.server.schemas.runs import ServerSentEvent
from wfcore.ports.persistence import Page

E = TypeVar("E")
R = TypeVar("R")


def json_body(body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A schema object (or plain JSON values) as an `application/json` response."""
    return web.json_response(unstructure(body), status=status, headers=headers)


def page_body(page: Page[E], convert: Callable[[E], R], item_type: type[R]) -> web.Response:
    """A page of entities, each converted to its response schema, in the list envelope."""
    body = PageResponse(
        items=[convert(item) for item in page.items], total=page.total, limit=page.limit, offset=page.offset
    )
    return web.json_response(unstructure(body, PageResponse[item_type]))  # type: ignore[valid-type]


def no_content() -> web.Response:
    return web.Response(status=204)


def sse_frame(event: ServerSentEvent) -> str:
    """One server-sent event, its fields in the wire format."""
    return f"id: {event.id}\nevent: {event.event.value}\ndata: {event.data}\n\n"
