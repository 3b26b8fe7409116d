"""The one strict cattrs converter of the HTTP edge.

Strict means: unknown keys are refused, and JSON values are never coerced (`"5"` is not an int,
`true` is not an int, `1` is not a string). Every failure becomes an `ErrorDetail` whose `loc` is
the path into the body, read from the notes cattrs attaches to its exception groups.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from wfcore.domain.errors import ErrorDetail, InvalidInput, Loc

T = TypeVar("T")


class Unset(enum.Enum):
    """A field that a partial update leaves as it is: absent from the body, unlike an explicit null."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


class FieldError(ValueError):
    """One value of the wrong type or outside its choices, with a readable message and a stable type."""

    def __init__(self, msg: str, type_: str = "type_error") -> None:
        super().__init__(msg)
        self.msg = msg
        self.type = type_


def rfc3339(moment: datetime) -> str:
    """A time as RFC 3339 UTC with a `Z`, microsecond precision."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _strict(check: Callable[[Any], bool], msg: str, convert: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if not check(value):
            raise FieldError(msg)
        return convert(value)

    return structure


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _structure_enum(value: Any, enum_type: type[enum.Enum]) -> enum.Enum:
    choices = [member.value for member in enum_type]
    if isinstance(value, bool) or value not in choices:
        raise FieldError("must be one of: " + ", ".join(str(choice) for choice in choices), "enum")
    return enum_type(value)


def _list_hook(converter: cattrs.Converter, list_type: Any) -> Callable[[Any, Any], Any]:
    (item_type,) = typing.get_args(list_type) or (Any,)

    def structure(value: Any, _: Any) -> list[Any]:
        if not isinstance(value, list):
            raise FieldError("must be an array")
        items: list[Any] = []
        failures: list[Exception] = []
        for index, item in enumerate(value):
            try:
                items.append(converter.structure(item, item_type))
            except Exception as failure:
                failure.add_note(IterableValidationNote(f"index {index}", index, item_type))
                failures.append(failure)
        if failures:
            raise IterableValidationError(f"While structuring {list_type!r}", failures, list_type)
        return items

    return structure


def _object_hook(converter: cattrs.Converter, cl: type[Any]) -> Callable[[Any, Any], Any]:
    fields = make_dict_structure_fn(cl, converter)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise FieldError("must be an object")
        return fields(value, cl)

    return structure


def _without_unset(converter: cattrs.Converter, union: Any) -> Callable[[Any, Any], Any]:
    rest = tuple(arg for arg in typing.get_args(union) if arg is not Unset)
    target: Any = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007 - built from a tuple

    def structure(value: Any, _: Any) -> Any:
        return converter.structure(value, target)

    return structure


def _is_list(type_: Any) -> bool:
    return typing.get_origin(type_) is list


def _has_unset(type_: Any) -> bool:
    return typing.get_origin(type_) in (typing.Union, types.UnionType) and Unset in typing.get_args(type_)


def _object_mapping(value: Any, _: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FieldError("must be an object")
    return value


def make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(int, _strict(_is_int, "must be an integer", int))
    converter.register_structure_hook(float, _strict(_is_number, "must be a number", float))
    converter.register_structure_hook(str, _strict(lambda v: isinstance(v, str), "must be a string", str))
    converter.register_structure_hook(bool, _strict(lambda v: isinstance(v, bool), "must be a boolean", bool))
    # StrEnum too: its members are str, and dispatch would otherwise pick the str hook for them.
    converter.register_structure_hook(enum.Enum, _structure_enum)
    converter.register_structure_hook(enum.StrEnum, _structure_enum)
    converter.register_structure_hook_func(lambda t: t == dict[str, Any], _object_mapping)
    converter.register_structure_hook_factory(_is_list, lambda t: _list_hook(converter, t))
    converter.register_structure_hook_factory(attrs.has, lambda cl: _object_hook(converter, cl))
    converter.register_structure_hook_factory(_has_unset, lambda t: _without_unset(converter, t))
    # JSON values pass through untouched: walking them would recurse once per nesting level.
    converter.register_unstructure_hook(Any, lambda value: value)
    converter.register_unstructure_hook(datetime, rfc3339)
    return converter


CONVERTER: Final = make_converter()


def structure(data: Any, cl: type[T], *, at: Loc = ()) -> T:
    """`data` (parsed JSON) as an instance of the schema class `cl`; `InvalidInput` naming every problem.

    `at` is where `data` sits in the request body, the prefix of every error's `loc`.
    """
    try:
        return CONVERTER.structure(data, cl)
    except Exception as failure:
        raise InvalidInput(errors=schema_errors(failure, at)) from None


def unstructure(value: Any, as_type: Any = None) -> Any:
    """A schema object as plain JSON values."""
    return CONVERTER.unstructure(value, unstructure_as=as_type)


def schema_errors(failure: BaseException, loc: Loc = ()) -> list[ErrorDetail]:
    """Every leaf failure in cattrs' exception groups, each at its path into the body."""
    if isinstance(failure, ClassValidationError):
        with_notes, without = failure.group_exceptions()
        found = [error for sub, note in with_notes for error in schema_errors(sub, (*loc, note.name))]
        return found + [error for sub in without for error in schema_errors(sub, loc)]
    if isinstance(failure, IterableValidationError):
        with_index, without = failure.group_exceptions()
        found = [error for sub, note in with_index for error in schema_errors(sub, (*loc, note.index))]
        return found + [error for sub in without for error in schema_errors(sub, loc)]
    if isinstance(failure, ForbiddenExtraKeysError):
        return [
            ErrorDetail(loc=(*loc, key), msg="is not a known field", type="extra_forbidden")
            for key in sorted(failure.extra_fields)
        ]
    if isinstance(failure, KeyError):
        return [ErrorDetail(loc=loc, msg="is required", type="missing")]
    if isinstance(failure, FieldError):
        return [ErrorDetail(loc=loc, msg=failure.msg, type=failure.type)]
    return [ErrorDetail(loc=loc, msg="is not a valid value", type="value_error")]
