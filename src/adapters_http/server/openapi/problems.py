"""The error responses of the document: which problems each operation may answer with, and their examples."""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import Any

from adapters_http.server.endpoints import Endpoint
from adapters_http.server.problems import PROBLEM_JSON, Problem
from wfcore.domain.errors import ErrorDetail

ERROR_MEANINGS: Mapping[int, str] = {
    400: "The body is not JSON this service accepts (syntax, non-finite numbers, nesting deeper than the cap).",
    401: "API keys are on and the request carries no valid one (`Authorization: Bearer <key>` or `X-API-Key`).",
    404: "Nothing has this id (a malformed id names nothing either), or it was deleted.",
    409: "The request conflicts with the current state: a name taken, an illegal state change.",
    413: "The body is larger than the configured limit.",
    415: "The body is not `application/json`.",
    422: "The input is invalid; `errors` names each place (`loc`) and what is wrong with it.",
    503: "A dependency (the database, the broker) is down; retry after `Retry-After` seconds.",
}
"""Every error status an operation documents, and what it means."""

_HEADERS: Mapping[int, Mapping[str, str]] = {
    401: {"WWW-Authenticate": 'The scheme to use: `Bearer realm="wf"`.'},
    503: {"Retry-After": "Seconds to wait before retrying."},
}

_EXAMPLE_DETAILS: Mapping[int, str] = {
    400: "the body is not valid JSON: Expecting value: line 1 column 1 (char 0)",
    401: "A valid API key is required: send Authorization: Bearer <key> or X-API-Key",
    404: "agent '7d0c5e0a-3f5e-4b8e-9a57-2f0f4a1c9b11' was not found",
    409: "an agent named 'summariser' already exists",
    413: "The request body is larger than the limit of 1048576 bytes",
    415: "the body must be application/json, not text/plain",
    422: "The input is not valid",
    503: "The service is unavailable: a service it depends on is down; retry later",
}


def error_statuses(endpoint: Endpoint, *, api_keys: bool) -> list[int]:
    """The problem statuses `endpoint` may answer with: the ones of its kind plus its own `errors`."""
    statuses = set(endpoint.errors)
    if endpoint.is_api:
        statuses.add(503)
        if api_keys:
            statuses.add(401)
    if any(parameter.uuid for parameter in endpoint.path_parameters):
        statuses.add(404)
    if endpoint.query is not None or any(header.max_length is not None for header in endpoint.headers):
        statuses.add(422)
    if endpoint.body is not None:
        statuses.update((400, 413, 415, 422))
    return sorted(statuses)


def response_name(status: int) -> str:
    """The name of a status's entry in `components/responses` (`NotFound`)."""
    return http.HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")


def _example(status: int) -> dict[str, Any]:
    errors: tuple[ErrorDetail, ...] = ()
    if status == 422:
        errors = (ErrorDetail(loc=("timeout_ms",), msg="must be between 100 and 600000", type="range"),)
    problem = Problem(status=status, detail=_EXAMPLE_DETAILS[status], errors=errors)
    return problem.document(instance="/api/v1/agents", request_id="3f0b9a52-6f1c-4f43-9d53-0c2a1b7e8d90")


def error_responses(request_id_header: Mapping[str, Any]) -> dict[str, Any]:
    """`components/responses`: one problem response per status of `ERROR_MEANINGS`, with an example."""
    responses: dict[str, Any] = {}
    for status, meaning in ERROR_MEANINGS.items():
        headers = {"X-Request-ID": request_id_header}
        for name, description in _HEADERS.get(status, {}).items():
            headers[name] = {"description": description, "schema": {"type": "string"}}
        responses[response_name(status)] = {
            "description": meaning,
            "headers": headers,
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": "#/components/schemas/ProblemDetails"},
                    "example": _example(status),
                }
            },
        }
    return responses
