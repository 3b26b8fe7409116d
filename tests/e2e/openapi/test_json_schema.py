"""The JSON Schema generator on small classes: what each Python type becomes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs
import pytest

from adapters_http.server.converter import UNSET, Unset
from adapters_http.server.openapi.json_schema import SchemaRegistry
from adapters_http.server.schemas.common import doc

T = TypeVar("T")


class Colour(enum.StrEnum):
    """A colour."""

    RED = "red"
    BLUE = "blue"


@attrs.frozen
class Box(Generic[T]):
    """Holds things."""

    things: list[T] = attrs.field(metadata=doc("The things."))
    label: str | None = attrs.field(default=None, metadata=doc("A label.", maxLength=10, example="shoes"))


@attrs.frozen
class Shirt:
    colour: Colour = attrs.field(default=Colour.RED, metadata=doc("Its colour."))
    sizes: list[int] = attrs.field(factory=lambda: [1, 2], metadata=doc("Sizes.", minItems=1))
    bought: datetime | None = attrs.field(default=None, metadata=doc("When."))
    extra: dict[str, Any] | Unset = attrs.field(default=UNSET, metadata=doc("Anything."))


def test_types_defaults_keywords_and_generics() -> None:
    registry = SchemaRegistry()
    assert registry.schema_of(Box[Shirt]) == {"$ref": "#/components/schemas/ShirtBox"}
    box = registry.components["ShirtBox"]
    assert box["required"] == ["things"]
    assert box["properties"]["things"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Shirt"},
        "description": "The things.",
    }
    assert box["properties"]["label"] == {
        "type": ["string", "null"],
        "description": "A label.",
        "maxLength": 10,
        "examples": ["shoes"],
        "default": None,
    }
    shirt = registry.components["Shirt"]
    assert "required" not in shirt
    assert shirt["additionalProperties"] is False
    assert shirt["properties"]["colour"] == {
        "$ref": "#/components/schemas/Colour",
        "description": "Its colour.",
        "default": "red",
    }
    assert shirt["properties"]["sizes"]["default"] == [1, 2]
    assert shirt["properties"]["bought"]["type"] == ["string", "null"]
    assert shirt["properties"]["bought"]["format"] == "date-time"
    assert shirt["properties"]["extra"] == {"type": "object", "description": "Anything."}
    assert registry.components["Colour"] == {"type": "string", "enum": ["red", "blue"], "description": "A colour."}


def test_two_classes_of_one_name_are_refused() -> None:
    registry = SchemaRegistry()
    registry.schema_of(Shirt)

    @attrs.frozen
    class Shirt2:
        size: int

    Shirt2.__name__ = "Shirt"
    with pytest.raises(TypeError, match="would both be the schema 'Shirt'"):
        registry.schema_of(Shirt2)


def test_a_type_without_a_schema_is_refused() -> None:
    with pytest.raises(TypeError, match="no JSON Schema"):
        SchemaRegistry().schema_of(bytes)
