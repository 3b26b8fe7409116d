"""JSON Schema (draft 2020-12) from the attrs schema classes and their type hints.

Every attrs class and enum becomes a named entry of `components/schemas`, referenced with `$ref`;
field metadata made with `schemas.common.doc` gives the description and the JSON Schema keywords.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from adapters_http.server.converter import Unset, unstructure

JsonSchema = dict[str, Any]

_PRIMITIVES: Mapping[Any, JsonSchema] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    datetime: {"type": "string", "format": "date-time"},
}

SHAPES = "shapes"
"""A `doc()` keyword: the schema classes a free-form JSON field may take, published as its `anyOf`."""

CONTENT_SCHEMA = "content_schema"
"""A `doc()` keyword: the schema class of the JSON a string field holds, published as its `contentSchema`."""

_NOT_JSON_SCHEMA = frozenset({SHAPES, CONTENT_SCHEMA, "example"})

_FACTORY: type[Any] = type(attrs.Factory(list))


def description_of(cl: type[Any]) -> str | None:
    """The class's own docstring, cleaned; None when it has none (an inherited one says nothing of it)."""
    text = cl.__dict__.get("__doc__")
    return inspect.cleandoc(text) if text else None


def _is_union(type_: Any) -> bool:
    return typing.get_origin(type_) in (typing.Union, types.UnionType)


def _type_name(type_: Any) -> str:
    origin = typing.get_origin(type_)
    if origin is None:
        return str(type_.__name__)
    # `PageResponse[AgentResponse]` is an `AgentPage`.
    arguments = "".join(_type_name(arg).removesuffix("Response") for arg in typing.get_args(type_))
    return arguments + str(origin.__name__).removesuffix("Response")


@attrs.define
class SchemaRegistry:
    """Builds schemas, collecting the named ones for `components/schemas`."""

    components: dict[str, JsonSchema] = attrs.field(factory=dict)
    _named: dict[str, Any] = attrs.field(factory=dict)

    def ref(self, name: str) -> JsonSchema:
        return {"$ref": f"#/components/schemas/{name}"}

    def _claim(self, name: str, type_: Any) -> bool:
        """Whether `name` is new; two types of one name would make one schema say the wrong thing."""
        owner = self._named.setdefault(name, type_)
        if owner != type_:
            raise TypeError(f"{type_!r} and {owner!r} would both be the schema {name!r}")
        return name not in self.components

    def schema_of(self, type_: Any) -> JsonSchema:
        """The schema of a Python type: a primitive, `Any`, a list, a dict, a union, an enum or an attrs class."""
        if type_ in _PRIMITIVES:
            return dict(_PRIMITIVES[type_])
        if type_ is Any or type_ is object:
            return {}
        if _is_union(type_):
            return self._union([arg for arg in typing.get_args(type_) if arg is not Unset])
        origin = typing.get_origin(type_)
        if origin is list:
            (item,) = typing.get_args(type_) or (Any,)
            return {"type": "array", "items": self.schema_of(item)}
        if origin is dict or type_ is dict:
            _, value = typing.get_args(type_) or (str, Any)
            values = self.schema_of(value)
            return {"type": "object", "additionalProperties": values} if values else {"type": "object"}
        if isinstance(type_, type) and issubclass(type_, enum.Enum):
            return self._enum(type_)
        if attrs.has(origin or type_):
            return self._object(type_)
        raise TypeError(f"no JSON Schema for {type_!r}")

    def _union(self, members: list[Any]) -> JsonSchema:
        schemas = [self.schema_of(member) for member in members]
        if len(schemas) == 1:
            return schemas[0]
        # Plain types merge into a list of types (`["string", "null"]`), keeping the one `format` among them.
        plain = all(isinstance(schema.get("type"), str) and set(schema) <= {"type", "format"} for schema in schemas)
        formats = [schema["format"] for schema in schemas if "format" in schema]
        if plain and len(formats) <= 1:
            merged: JsonSchema = {"type": [schema["type"] for schema in schemas]}
            if formats:
                merged["format"] = formats[0]
            return merged
        return {"anyOf": schemas}

    def _enum(self, enum_type: type[enum.Enum]) -> JsonSchema:
        name = enum_type.__name__
        if self._claim(name, enum_type):
            schema: JsonSchema = {"type": "string", "enum": [member.value for member in enum_type]}
            text = description_of(enum_type)
            if text:
                schema["description"] = text
            self.components[name] = schema
        return self.ref(name)

    def _object(self, type_: Any) -> JsonSchema:
        name = _type_name(type_)
        if self._claim(name, type_):
            self.components[name] = {}  # a placeholder, so that a class that refers to itself terminates
            self.components[name] = self.object_schema(type_)
        return self.ref(name)

    def object_schema(self, type_: Any) -> JsonSchema:
        """The inline schema of an attrs class (or of a parametrised generic one): its fields, none other."""
        cl = typing.get_origin(type_) or type_
        hints = _resolved_hints(type_)
        properties: dict[str, JsonSchema] = {}
        required: list[str] = []
        for field in attrs.fields(cl):
            properties[field.name] = self.field_schema(hints[field.name], field)
            if field.default is attrs.NOTHING:
                required.append(field.name)
        schema: JsonSchema = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            schema["required"] = required
        text = description_of(cl)
        if text:
            schema["description"] = text
        return schema

    def field_schema(self, type_: Any, field: attrs.Attribute[Any]) -> JsonSchema:
        """A field's schema: its type's, with the description, keywords and default of its metadata."""
        metadata = dict(field.metadata)
        shapes = metadata.get(SHAPES)
        schema = self.schema_of(type_)
        if shapes:
            schema = self._with_shapes(schema, shapes)
        schema.update({key: value for key, value in metadata.items() if key not in _NOT_JSON_SCHEMA})
        if CONTENT_SCHEMA in metadata:
            schema["contentSchema"] = self.schema_of(metadata[CONTENT_SCHEMA])
        if "example" in metadata:
            schema["examples"] = [metadata["example"]]
        default = _default_of(field)
        if default is not attrs.NOTHING:
            schema["default"] = default
        return schema

    def _with_shapes(self, schema: JsonSchema, shapes: Any) -> JsonSchema:
        refs = [self.schema_of(shape) for shape in dict.fromkeys(shapes)]
        nullable = schema.get("type") == ["object", "null"] or {"type": "null"} in schema.get("anyOf", [])
        return {"anyOf": [*refs, {"type": "null"}] if nullable else refs}


def _resolved_hints(type_: Any) -> dict[str, Any]:
    """The field types of an attrs class, with a generic class's type variables replaced by its arguments."""
    cl = typing.get_origin(type_) or type_
    hints = typing.get_type_hints(cl)
    parameters = getattr(cl, "__parameters__", ())
    arguments = typing.get_args(type_)
    if not parameters or not arguments:
        return hints
    substitution = dict(zip(parameters, arguments, strict=True))
    return {name: _substitute(hint, substitution) for name, hint in hints.items()}


def _substitute(hint: Any, substitution: Mapping[Any, Any]) -> Any:
    if hint in substitution:
        return substitution[hint]
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is None or not arguments:
        return hint
    replaced = tuple(_substitute(argument, substitution) for argument in arguments)
    if _is_union(hint):
        return typing.Union[replaced]  # noqa: UP007 - built from a tuple
    return origin[replaced]


def _default_of(field: attrs.Attribute[Any]) -> Any:
    """The field's default as JSON, or NOTHING when it has none (required, or left out as `UNSET`)."""
    default: Any = field.default
    if default is attrs.NOTHING or isinstance(default, Unset):
        return attrs.NOTHING
    if isinstance(default, _FACTORY):
        if default.takes_self:
            return attrs.NOTHING
        default = default.factory()
    return unstructure(default)
