"""The route table: each endpoint the app serves, with the documentation the OpenAPI document is made of.

`create_app` registers exactly these endpoints with aiohttp and `openapi.build_document` describes
exactly these, so a route cannot be served without being documented, nor documented without being served.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import attrs
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

JSON = "application/json"
EVENT_STREAM = "text/event-stream"
HTML = "text/html"

_PATH_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Tag:
    """The groups of operations in the document, in the order the docs show them."""

    AGENTS = "agents"
    WORKFLOWS = "workflows"
    RUNS = "runs"
    AUDIT = "audit"
    SYSTEM = "system"


@attrs.frozen
class PathParameter:
    """A `{name}` segment of a path. `uuid`: an entity id, where a malformed one is a 404 like an unknown one.

    `sources` name the response schemas that carry a value for it, and in which field: the document
    links each response of those schemas to the operations that take this parameter.
    """

    name: str
    description: str
    uuid: bool = True
    sources: tuple[tuple[type[Any], str], ...] = ()


@attrs.frozen
class HeaderParameter:
    """A request header an operation reads; one with a `max_length` is checked (a 422 when longer)."""

    name: str
    description: str
    max_length: int | None = None


@attrs.frozen
class Reply:
    """A success response: its status, what it means, its body's schema and an example of it.

    `schema` is a schema class (attrs), a typing form over them (`PageResponse[AgentResponse]`),
    or None for no body. `example` is a schema object or plain JSON values. `headers` maps the
    name of a response header to its description.
    """

    status: int
    description: str
    schema: Any = None
    example: Any = None
    media_type: str = JSON
    headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class RequestBody:
    """The body an operation reads. `schema` as in `Reply`; `required=False`: no body reads as `{}`."""

    schema: Any
    description: str
    example: Any = None
    required: bool = True


def _check_path_parameters(instance: Endpoint, attribute: attrs.Attribute[Any], value: Any) -> None:
    in_path = _PATH_PARAMETER.findall(instance.path)
    declared = [parameter.name for parameter in value]
    if sorted(in_path) != sorted(declared):
        raise ValueError(f"{instance.path}: path parameters {in_path} but {declared} declared")


@attrs.frozen
class Endpoint:
    """One operation: a method on a path, its handler, and everything its documentation says.

    `errors` are the statuses of the problem documents the operation answers with, beyond the ones
    every operation of its kind may send (see `openapi.problems.error_statuses`).
    """

    method: str
    path: str
    handler: Handler = attrs.field(eq=False)
    operation_id: str
    tag: str
    summary: str
    description: str
    replies: tuple[Reply, ...]
    path_parameters: tuple[PathParameter, ...] = attrs.field(default=(), validator=_check_path_parameters)
    query: type[Any] | None = None
    body: RequestBody | None = None
    headers: tuple[HeaderParameter, ...] = ()
    errors: tuple[int, ...] = ()

    @property
    def is_api(self) -> bool:
        """Under `/api/`: needs a key when API keys are on, and reaches the database."""
        return self.path.startswith("/api/")


def register(app: web.Application, endpoints: Iterable[Endpoint]) -> None:
    """Add each endpoint's route to `app` (no implicit HEAD: only what the table says is served)."""
    for endpoint in endpoints:
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
