"""Schema pieces every resource shares: field documentation, the list envelope, problem details."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")


def doc(description: str, **schema: Any) -> dict[str, Any]:
    """Field metadata: a description plus JSON Schema keywords (`minimum`, `maximum`, `enum`, `example`...).

    The query parser enforces `minimum`, `maximum` and `enum`; the OpenAPI generator publishes them all.
    """
    return {"description": description, **schema}


@attrs.frozen
class PageResponse(Generic[T]):
    """One page of a list."""

    items: list[T] = attrs.field(metadata=doc("The entries of this page."))
    total: int = attrs.field(metadata=doc("How many entries match the filters, over all pages."))
    limit: int = attrs.field(metadata=doc("The page size asked for."))
    offset: int = attrs.field(metadata=doc("How many matching entries come before this page."))


@attrs.frozen
class ErrorItem:
    """One thing wrong with a request."""

    loc: list[str | int] = attrs.field(
        metadata=doc("Where: a path into the body, or `query`/`header` and the parameter's name.")
    )
    msg: str = attrs.field(metadata=doc("What is wrong, for people."))
    type: str = attrs.field(metadata=doc("What is wrong, for programs (`missing`, `type_error`, `range`...)."))


@attrs.frozen
class ProblemDetails:
    """An error response (RFC 9457), sent as `application/problem+json`."""

    type: str = attrs.field(metadata=doc("A URI naming the kind of problem.", example="urn:wf:problem:not_found"))
    title: str = attrs.field(metadata=doc("The HTTP status phrase."))
    status: int = attrs.field(metadata=doc("The HTTP status code."))
    detail: str = attrs.field(metadata=doc("What went wrong with this request."))
    instance: str = attrs.field(metadata=doc("The path of the request."))
    request_id: str = attrs.field(metadata=doc("The correlation id, also in the `X-Request-ID` header."))
    errors: list[ErrorItem] | None = attrs.field(default=None, metadata=doc("Each invalid input (422 only)."))
