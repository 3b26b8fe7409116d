"""Problem details (RFC 9457): every error response, and the one table from errors to statuses."""

from __future__ import annotations

import http
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from aiohttp import web

from adapters_http.server.bodies import MalformedBody, UnsupportedMediaType
from adapters_http.server.converter import unstructure
from adapters_http.server.schemas.common import ErrorItem, ProblemDetails
from wfcore.domain.errors import (
    Conflict,
    ErrorDetail,
    InvalidInput,
    LeaseLost,
    NotFound,
    ServiceUnavailable,
    WfError,
)

PROBLEM_JSON = "application/problem+json"

STATUS_OF_ERROR: Mapping[type[Exception], int] = {
    NotFound: 404,
    Conflict: 409,
    LeaseLost: 409,
    InvalidInput: 422,
    ServiceUnavailable: 503,
    MalformedBody: 400,
    UnsupportedMediaType: 415,
    WfError: 400,
}
"""Each error class the service raises on purpose and its status; a subclass takes its nearest ancestor's."""

CODE_OF_STATUS: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    500: "internal_error",
    503: "unavailable",
}
"""The problem code of a status, for problems no error class names more precisely (`urn:wf:problem:<code>`)."""


@attrs.frozen
class Problem:
    """An error response about to be sent."""

    status: int
    detail: str
    code: str = ""
    errors: Sequence[ErrorDetail] = ()
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def type_uri(self) -> str:
        return "urn:wf:problem:" + (self.code or CODE_OF_STATUS.get(self.status, str(self.status)))

    def document(self, instance: str, request_id: str) -> dict[str, Any]:
        """The problem details as JSON values; `errors` only when there are some."""
        body = ProblemDetails(
            type=self.type_uri,
            title=http.HTTPStatus(self.status).phrase,
            status=self.status,
            detail=self.detail,
            instance=instance,
            request_id=request_id,
            errors=[ErrorItem(loc=list(e.loc), msg=e.msg, type=e.type) for e in self.errors] or None,
        )
        document: dict[str, Any] = unstructure(body)
        if document["errors"] is None:
            del document["errors"]
        return document

    def response(self, instance: str, request_id: str) -> web.Response:
        document = self.document(instance, request_id)
        return web.json_response(document, status=self.status, headers=self.headers, content_type=PROBLEM_JSON)


def status_of(error: BaseException) -> int | None:
    """The status of an error the service raises on purpose, or None for an unexpected one."""
    return status_of_class(type(error))


def status_of_class(error_class: type[BaseException]) -> int | None:
    """The status of an error class: its own in `STATUS_OF_ERROR`, else its nearest ancestor's."""
    for cls in error_class.__mro__:
        if cls in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[cls]
    return None


@attrs.frozen
class ProblemMapper:
    """Turns an exception into the problem it answers with: `STATUS_OF_ERROR`, routing errors, dependencies."""

    max_body_bytes: int
    dependency_errors: tuple[type[BaseException], ...]
    retry_after_seconds: int

    def problem_for(self, error: BaseException) -> Problem | None:
        """The problem for an expected error; None when the error is a bug (a 500)."""
        if isinstance(error, web.HTTPException):
            return self._routing_problem(error)
        if isinstance(error, (ServiceUnavailable, OSError, *self.dependency_errors)):
            # The message of a driver's error may quote a statement or an address: it stays in the log.
            detail = error.message if isinstance(error, ServiceUnavailable) else "a service it depends on is down"
            return Problem(
                status=503,
                detail=f"The service is unavailable: {detail}; retry later",
                code="unavailable",
                headers={"Retry-After": str(self.retry_after_seconds)},
            )
        status = status_of(error)
        if status is None:
            return None
        if isinstance(error, InvalidInput):
            return Problem(status=status, detail=error.message, code=error.code, errors=error.errors)
        code = error.code if isinstance(error, WfError) else ""
        return Problem(status=status, detail=str(error), code=code)

    def _routing_problem(self, error: web.HTTPException) -> Problem:
        headers: dict[str, str] = {}
        if error.status == 404:
            detail = "There is nothing at this path"
        elif error.status == 405:
            headers["Allow"] = error.headers.get("Allow", "")
            detail = f"This path allows only: {headers['Allow']}"
        elif error.status == 413:
            detail = f"The request body is larger than the limit of {self.max_body_bytes} bytes"
        else:
            detail = error.text or error.reason
        return Problem(status=error.status, detail=detail, headers=headers)
