"""JMESPath expressions and `{{ expr }}` templates, compiled once when a workflow is saved.

A string that is exactly `"{{ expr }}"` renders to the expression's value with its JSON type; a string
with `{{ expr }}` among other text renders to text. Expressions see the context
`{input, steps: {<id>: {output, status}}, run: {id, attempt}}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from wfcore.domain.errors import ErrorDetail, Loc

ROOTS = frozenset({"input", "steps", "run"})
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_WHOLE = re.compile(r"^\{\{(.*?)\}\}$", re.DOTALL)

# AST node types whose children are all evaluated against the same current node as the parent.
_SAME_SCOPE = frozenset(
    {
        "comparator",
        "and_expression",
        "or_expression",
        "not_expression",
        "multi_select_list",
        "multi_select_dict",
        "key_val_pair",
        "function_expression",
        "flatten",
    }
)
# Node types whose first child is evaluated against the current node and the rest against its result.
_CHAINED = frozenset({"subexpression", "index_expression", "pipe", "projection", "value_projection"})
# Of those, the ones whose second child reads a field of the first child's result (`a.b`, `a | b`);
# a projection applies it to every element instead (`steps.*.output` names no step).
_CONTINUED = frozenset({"subexpression", "index_expression", "pipe"})


class ExpressionError(ValueError):
    """An expression that does not compile or refers to something it may not."""


@attrs.frozen
class Expression:
    source: str
    parsed: ParsedResult = attrs.field(eq=False, repr=False)
    step_refs: frozenset[str]

    @classmethod
    def compile(cls, source: str) -> Expression:
        text = source.strip()
        if not text:
            raise ExpressionError("the expression is empty")
        try:
            parsed = jmespath.compile(text)
        except JMESPathError as error:
            raise ExpressionError(f"{text!r} is not a valid JMESPath expression: {error}") from None
        return cls(source=text, parsed=parsed, step_refs=frozenset(_step_refs(parsed.parsed, text)))

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        return self.parsed.search(context)


def is_truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string, list and object are false (0 is true)."""
    if value is None or value is False:
        return False
    return bool(value) if isinstance(value, str | list | dict) else True


def _step_refs(ast: Mapping[str, Any], source: str) -> Iterator[str]:
    for field, following in _root_fields(ast):
        if field not in ROOTS:
            raise ExpressionError(
                f"{source!r} refers to {field!r}; an expression may only start from input, steps or run"
            )
        if field == "steps":
            if following is None or following.get("type") != "field":
                raise ExpressionError(f"{source!r} must name a step after 'steps', as in steps.<id>.output")
            yield following["value"]


def _root_fields(ast: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any] | None]]:
    """Each field read from the root of the context, with the AST node that follows it (if any)."""
    stack: list[Mapping[str, Any]] = [ast]
    while stack:
        node = stack.pop()
        kind = node.get("type")
        children: list[Mapping[str, Any]] = node.get("children", [])
        if kind == "field":
            yield node["value"], None
        elif kind in ("current", "identity"):
            # `@` (or the left of `*`, `[*]`, `[?...]`) here is the whole context: it reads steps without naming one.
            yield "@", None
        elif kind in _CHAINED and children:
            first = children[0]
            if first.get("type") == "field" and len(children) > 1:
                yield first["value"], _first_field(children[1]) if kind in _CONTINUED else None
            else:
                stack.append(first)
        elif kind == "filter_projection" and children:
            stack.append(children[0])
        elif kind in _SAME_SCOPE:
            stack.extend(children)


def _first_field(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The field a chain continues with: `b` in `a.b.c` as well as in `a.b[0]`."""
    while node.get("type") in ("subexpression", "index_expression") and node.get("children"):
        node = node["children"][0]
    return node if node.get("type") == "field" else None


@attrs.frozen
class Template:
    """A JSON value whose strings may hold `{{ expr }}` placeholders."""

    source: Any = attrs.field(eq=True)
    _render: Any = attrs.field(eq=False, repr=False, alias="render")
    step_refs: frozenset[str] = attrs.field(eq=False)

    @classmethod
    def compile(cls, source: Any) -> tuple[Template, list[ErrorDetail]]:
        """The compiled template and every error found in it, each located inside `source`."""
        errors: list[ErrorDetail] = []
        refs: set[str] = set()
        renderer = _compile_value(source, (), errors, refs)
        return cls(source=source, render=renderer, step_refs=frozenset(refs)), errors

    def render(self, context: Mapping[str, Any]) -> Any:
        return _render(self._render, context)


# A compiled template is a tree of plain values: ("lit", v), ("expr", Expression),
# ("text", [str | Expression, ...]), ("list", [...]), ("dict", [(key, node), ...]).
def _compile_value(value: Any, loc: Loc, errors: list[ErrorDetail], refs: set[str]) -> Any:
    if isinstance(value, str):
        return _compile_string(value, loc, errors, refs)
    if isinstance(value, list):
        return ("list", [_compile_value(item, (*loc, i), errors, refs) for i, item in enumerate(value)])
    if isinstance(value, dict):
        return ("dict", [(k, _compile_value(v, (*loc, k), errors, refs)) for k, v in value.items()])
    return ("lit", value)


def _compile_string(text: str, loc: Loc, errors: list[ErrorDetail], refs: set[str]) -> Any:
    if "{{" not in text:
        return ("lit", text)
    whole = _WHOLE.match(text)
    if whole and "{{" not in whole.group(1):
        expression = _compile_expression(whole.group(1), loc, errors, refs)
        return ("expr", expression) if expression else ("lit", text)
    parts: list[Any] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[position : match.start()])
        parts.append(_compile_expression(match.group(1), loc, errors, refs))
        position = match.end()
    parts.append(text[position:])
    if "{{" in text[position:]:
        errors.append(ErrorDetail(loc=loc, msg=f"unclosed '{{{{' in {text!r}", type="expression"))
    return ("text", parts)


def _compile_expression(source: str, loc: Loc, errors: list[ErrorDetail], refs: set[str]) -> Expression | None:
    try:
        expression = Expression.compile(source)
    except ExpressionError as error:
        errors.append(ErrorDetail(loc=loc, msg=str(error), type="expression"))
        return None
    refs.update(expression.step_refs)
    return expression


def _render(node: Any, context: Mapping[str, Any]) -> Any:
    kind, payload = node
    if kind == "lit":
        return payload
    if kind == "expr":
        return payload.evaluate(context)
    if kind == "text":
        return "".join(_as_text(part, context) for part in payload)
    if kind == "list":
        return [_render(item, context) for item in payload]
    return {key: _render(child, context) for key, child in payload}


def _as_text(part: Any, context: Mapping[str, Any]) -> str:
    if isinstance(part, str):
        return part
    value = part.evaluate(context) if part is not None else None
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
