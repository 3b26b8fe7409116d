"""The OpenAPI 3.1 document: one operation per entry of the route table, schemas from the schema classes."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any

import attrs

from adapters_http.server.converter import unstructure
from adapters_http.server.endpoints import Endpoint, HeaderParameter, PathParameter, Reply, RequestBody, Tag
from adapters_http.server.openapi.json_schema import JsonSchema, SchemaRegistry
from adapters_http.server.openapi.problems import error_responses, error_statuses, response_name
from adapters_http.server.schemas.common import ProblemDetails

OPENAPI_VERSION = "3.1.0"

TAGS: Sequence[tuple[str, str]] = (
    (Tag.AGENTS, "Remote HTTP services that do the work of a step."),
    (Tag.WORKFLOWS, "Versioned DAGs of steps; executing one starts a run."),
    (Tag.RUNS, "Executions of one workflow version: their steps, event log, retry and cancel."),
    (Tag.AUDIT, "Who changed what, and when."),
    (Tag.SYSTEM, "Liveness, readiness and this documentation."),
)

DESCRIPTION = """\
Register HTTP agents, store versioned DAG workflows of steps that call them, and execute runs reliably.

* Bodies are JSON (`application/json`); errors are RFC 9457 problem details (`application/problem+json`)
  whose `type` is `urn:wf:problem:<code>`. A 422 lists each invalid input in `errors[]` with its `loc`:
  a path into the body (`["steps", 2, "depends_on", 0]`), or `["query", name]` / `["header", name]`.
* Unknown fields in a body are a 422. A malformed id in a path names nothing: a 404, like an unknown id.
* A method a path does not serve is a 405 with an `Allow` header.
* Lists take `limit` (1-100, default 20) and `offset` and answer `{items, total, limit, offset}`.
* Every response carries `X-Request-ID`: the request's own when it is 1-128 of `[A-Za-z0-9._:-]`, else a new one.
* Times are RFC 3339 UTC; ids are UUIDs.
"""

_REQUEST_ID_HEADER: dict[str, Any] = {
    "description": "The correlation id of the request, in every log line and agent call it causes.",
    "schema": {"type": "string"},
}


@attrs.frozen
class ApiInfo:
    """What the document says about the service itself."""

    version: str
    api_keys: bool = False
    """Whether `/api/` needs a key: adds the security schemes and the 401 responses."""
    title: str = "wf: Workflow Management API"


def build_document(endpoints: Sequence[Endpoint], info: ApiInfo) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing exactly `endpoints`."""
    registry = SchemaRegistry()
    registry.schema_of(ProblemDetails)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation = _operation(registry, endpoint, info)
        for reply in endpoint.replies:
            links = _links(endpoint, reply, endpoints)
            if links:
                operation["responses"][str(reply.status)]["links"] = links
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    components: dict[str, Any] = {
        "schemas": dict(sorted(registry.components.items())),
        "responses": error_responses({"$ref": "#/components/headers/RequestId"}),
        "headers": {"RequestId": _REQUEST_ID_HEADER},
    }
    if info.api_keys:
        components["securitySchemes"] = {
            "bearerKey": {"type": "http", "scheme": "bearer", "description": "An API key as a bearer token."},
            "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API key."},
        }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": info.title,
            "version": info.version,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths,
        "components": components,
    }


def _operation(registry: SchemaRegistry, endpoint: Endpoint, info: ApiInfo) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "description": endpoint.description,
        "tags": [endpoint.tag],
    }
    parameters = [
        *(_path_parameter(parameter) for parameter in endpoint.path_parameters),
        *(_query_parameters(registry, endpoint.query) if endpoint.query else ()),
        *(_header_parameter(parameter) for parameter in endpoint.headers),
    ]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = _request_body(registry, endpoint.body)
    responses = {str(reply.status): _reply(registry, reply) for reply in endpoint.replies}
    for status in error_statuses(endpoint, api_keys=info.api_keys):
        responses[str(status)] = {"$ref": f"#/components/responses/{response_name(status)}"}
    operation["responses"] = responses
    if info.api_keys and endpoint.is_api:
        operation["security"] = [{"bearerKey": []}, {"headerKey": []}]
    return operation


def _path_parameter(parameter: PathParameter) -> dict[str, Any]:
    schema: JsonSchema = {"type": "string", "format": "uuid"} if parameter.uuid else {"type": "string"}
    return {
        "name": parameter.name,
        "in": "path",
        "required": True,
        "description": parameter.description,
        "schema": schema,
    }


def _query_parameters(registry: SchemaRegistry, query: type[Any]) -> list[dict[str, Any]]:
    hints = typing.get_type_hints(query)
    parameters = []
    for field in attrs.fields(query):
        schema = registry.field_schema(_present(hints[field.name]), field)
        description = schema.pop("description", "")
        if schema.get("default") in (None, []):
            schema.pop("default", None)
        parameter: dict[str, Any] = {
            "name": field.name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema,
        }
        if schema.get("type") == "array":
            parameter.update(style="form", explode=True, description=f"{description} Repeat it for several.")
        parameters.append(parameter)
    return parameters


def _present(hint: Any) -> Any:
    """An absent parameter is the None of `X | None`: a present one is always an X."""
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return hint
    present = tuple(arg for arg in typing.get_args(hint) if arg is not type(None))
    return present[0] if len(present) == 1 else typing.Union[present]  # noqa: UP007 - built from a tuple


def _header_parameter(parameter: HeaderParameter) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "in": "header",
        "required": False,
        "description": parameter.description,
        "schema": {"type": "string"}
        if parameter.max_length is None
        else {"type": "string", "maxLength": parameter.max_length},
    }


def _content(registry: SchemaRegistry, media_type: str, schema: Any, example: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": registry.schema_of(schema)}
    if example is not None:
        # A schema object is unstructured as its declared type (that types a generic page's items).
        content["example"] = unstructure(example, schema) if attrs.has(type(example)) else example
    return {media_type: content}


def _request_body(registry: SchemaRegistry, body: RequestBody) -> dict[str, Any]:
    return {
        "required": body.required,
        "description": body.description,
        "content": _content(registry, "application/json", body.schema, body.example),
    }


def _reply(registry: SchemaRegistry, reply: Reply) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}
    for name, description in reply.headers.items():
        headers[name] = {"description": description, "schema": {"type": "string"}}
    response: dict[str, Any] = {"description": reply.description, "headers": headers}
    if reply.schema is not None:
        response["content"] = _content(registry, reply.media_type, reply.schema, reply.example)
    return response


def _links(source: Endpoint, reply: Reply, endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """Links from `reply` to each other operation whose path parameters its body supplies."""
    links: dict[str, Any] = {}
    for target in endpoints:
        if target is source or not target.path_parameters:
            continue
        values = {}
        for parameter in target.path_parameters:
            field = next((name for schema, name in parameter.sources if schema is reply.schema), None)
            if field is not None:
                values[parameter.name] = f"$response.body#/{field}"
        if len(values) == len(target.path_parameters):
            links[target.operation_id] = {"operationId": target.operation_id, "parameters": values}
    return links
