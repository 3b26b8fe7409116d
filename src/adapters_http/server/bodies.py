"""Reading JSON request bodies: content type, syntax, nesting depth, storable text, then the schema."""

from __future__ import annotations

import json
import math
from typing import Any, Final, TypeVar

import attrs
from aiohttp import web

from adapters_http.server.converter import structure
from wfcore.domain.errors import ErrorDetail, InvalidInput
from wfcore.domain.values import json_depth, unstorable_text

T = TypeVar("T")

ABSENT: Final = object()
"""What `BodyReader.read_json` returns for an optional body that was not sent."""


class MalformedBody(Exception):
    """The body is not JSON this service accepts (a 400)."""


class UnsupportedMediaType(Exception):
    """A body that is not `application/json` (a 415)."""


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text} is out of range")
    return number


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@attrs.frozen
class BodyReader:
    """Parses request bodies. The size cap is aiohttp's `client_max_size` (a 413 before any parsing)."""

    max_depth: int

    async def read(self, request: web.Request, cl: type[T], *, optional: bool = False) -> T:
        """The body as an instance of the schema class `cl`. With `optional`, no body reads as `{}`.

        A JSON `null` is a body, not the absence of one: it is a 422 like any other non-object.
        """
        document = await self.read_json(request, optional=optional)
        return structure({} if document is ABSENT else document, cl)

    async def read_json(self, request: web.Request, *, optional: bool = False) -> Any:
        """The parsed JSON body, or `ABSENT` when there is none and that is allowed."""
        raw = await request.read()
        if not raw:
            if optional:
                return ABSENT
            raise InvalidInput(errors=[ErrorDetail(loc=(), msg="a JSON body is required", type="missing")])
        if request.content_type != "application/json" and not request.content_type.endswith("+json"):
            raise UnsupportedMediaType(f"the body must be application/json, not {request.content_type}")
        try:
            document = json.loads(raw, parse_float=_finite, parse_constant=_no_constants)
        except RecursionError:
            raise MalformedBody(f"the JSON is nested deeper than the limit of {self.max_depth} levels") from None
        except ValueError as error:
            raise MalformedBody(f"the body is not valid JSON: {error}") from None
        if json_depth(document) > self.max_depth:
            raise MalformedBody(f"the JSON is nested deeper than the limit of {self.max_depth} levels")
        where = unstorable_text(document)
        if where is not None:
            raise InvalidInput(
                errors=[
                    ErrorDetail(
                        loc=where, msg="must not contain NUL characters or unpaired surrogates", type="unstorable_text"
                    )
                ]
            )
        return document
