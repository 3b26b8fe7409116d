"""Request parameters: ids in the path, the query classes of `schemas.queries`, text headers."""

from __future__ import annotations

import enum
import functools
import re
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import attrs
from aiohttp import web
from multidict import MultiMapping

from adapters_http.server.converter import FieldError
from wfcore.domain.errors import ErrorDetail, InvalidInput, NotFound, Problems
from wfcore.domain.values import unstorable_text

T = TypeVar("T")

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# RFC 3339 `date-time`: a full date and time with an offset (`Z` or `+hh:mm`), as the document's format says.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?" r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def canonical_uuid(text: str) -> str | None:
    """`text` as a lowercase hyphenated UUID when it is one in that (the JSON Schema `uuid`) form, else None.

    `uuid.UUID` alone would also take braces, a `urn:uuid:` prefix or no hyphens.
    """
    return str(UUID(text)) if _UUID.fullmatch(text) else None


def path_id(request: web.Request, name: str, entity: str) -> str:
    """The id in the path, canonical; a malformed id names nothing, so it is a 404 like an unknown one."""
    raw = request.match_info[name]
    canonical = canonical_uuid(raw)
    if canonical is None:
        raise NotFound(entity=entity, entity_id=raw)
    return canonical


def header_text(request: web.Request, name: str, *, max_length: int) -> str | None:
    """A header holding text the service stores (a user, a key); None when absent or blank."""
    value = request.headers.get(name, "").strip()
    if len(value) > max_length or not value.isprintable():
        raise InvalidInput(
            errors=[
                ErrorDetail(
                    loc=("header", name), msg=f"must be at most {max_length} printable characters", type="value_error"
                )
            ]
        )
    return value or None


def parse_query(query: MultiMapping[str], cl: type[T]) -> T:
    """The query string as an instance of `cl`; every bad parameter is a 422 at `["query", name]`."""
    problems = Problems()
    values: dict[str, Any] = {}
    hints = _type_hints(cl)
    for field in attrs.fields(cl):  # type: ignore[arg-type]
        raw = query.getall(field.name, [])
        if not raw:
            continue
        try:
            values[field.name] = _parse(hints[field.name], raw, field.metadata)
        except FieldError as error:
            problems.add(("query", field.name), error.msg, error.type)
    problems.raise_invalid()
    return cl(**values)


@functools.cache
def _type_hints(cl: type) -> dict[str, Any]:
    return typing.get_type_hints(cl)


def _parse(type_: Any, raw: list[str], rules: Mapping[str, Any]) -> Any:
    if typing.get_origin(type_) is list:
        (item_type,) = typing.get_args(type_)
        return [_parse_one(item_type, text, rules) for text in raw]
    if typing.get_origin(type_) is not None:  # `X | None`: the parameter is present, so it is an X
        type_ = next(arg for arg in typing.get_args(type_) if arg is not type(None))
    return _parse_one(type_, raw[0], rules)


def _parse_one(type_: Any, text: str, rules: Mapping[str, Any]) -> Any:
    if unstorable_text(text) is not None:
        raise FieldError("must not contain NUL characters or unpaired surrogates", "unstorable_text")
    return _check_rules(_convert(type_, text), rules)


def _convert(type_: Any, text: str) -> Any:
    if type_ is int:
        if not _INTEGER.fullmatch(text):
            raise FieldError("must be an integer")
        return int(text)
    if type_ is datetime:
        try:
            if not _RFC3339.fullmatch(text):
                raise ValueError(text)
            moment = datetime.fromisoformat(text.upper())
        except ValueError:
            raise FieldError("must be an RFC 3339 date-time, such as 2030-01-31T12:00:00Z") from None
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the first moment a datetime holds
            raise FieldError("must be a time between years 1 and 9999 in UTC", "range") from None
    if isinstance(type_, type) and issubclass(type_, enum.Enum):
        choices = [member.value for member in type_]
        if text not in choices:
            raise FieldError("must be one of: " + ", ".join(choices), "enum")
        return type_(text)
    return text


def _check_rules(value: Any, rules: Mapping[str, Any]) -> Any:
    low, high = rules.get("minimum"), rules.get("maximum")
    if low is not None and high is not None and not low <= value <= high:
        raise FieldError(f"must be between {low} and {high}", "range")
    if low is not None and value < low:
        raise FieldError(f"must be at least {low}", "range")
    if "enum" in rules and value not in rules["enum"]:
        raise FieldError("must be one of: " + ", ".join(rules["enum"]), "enum")
    if rules.get("format") == "uuid":
        canonical = canonical_uuid(value)
        if canonical is None:
            raise FieldError("must be a UUID such as 0190f3c2-5a8e-7c1d-9b2a-4e6f8d0a1b2c", "uuid")
        return canonical
    return value
