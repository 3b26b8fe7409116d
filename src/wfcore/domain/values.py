"""Rules shared by several entities: names, text that every database can store."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from wfcore.domain.errors import Loc, Problems

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
NAME_MAX_LENGTH = 100
# NUL, and the surrogate code points: in a Python string only unpaired ones, which UTF-8 cannot encode.
_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")

JsonValue = Any


def check_name(problems: Problems, loc: Loc, name: str) -> None:
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        problems.add(loc, f"must be 1 to {NAME_MAX_LENGTH} characters long", "string_length")
    elif not NAME_PATTERN.fullmatch(name):
        problems.add(
            loc,
            "must start with a letter or digit and contain only letters, digits, '_', '.' and '-'",
            "string_pattern",
        )


def unstorable_text(value: JsonValue, loc: Loc = ()) -> Loc | None:
    """Where `value` holds text that PostgreSQL cannot store (NUL, lone surrogates), or None.

    Both databases must accept and refuse exactly the same inputs, so the check runs for SQLite too.
    """
    return _first(value, loc, lambda item: isinstance(item, str) and _bad_text(item))


def unstorable_json(value: JsonValue, loc: Loc = ()) -> Loc | None:
    """Where `value` holds what no database stores as JSON: such text, or a number that is not finite."""
    return _first(value, loc, _unstorable_scalar)


def storable_text(text: str) -> str:
    """`text` with what PostgreSQL cannot store (NUL, lone surrogates) replaced by U+FFFD."""
    return _UNSTORABLE_CHARACTER.sub("\ufffd", text)


def _unstorable_scalar(item: Any) -> bool:
    if isinstance(item, float):
        return not math.isfinite(item)
    return isinstance(item, str) and _bad_text(item)


def _first(value: JsonValue, loc: Loc, bad: Callable[[Any], bool]) -> Loc | None:
    """Where the first scalar or key `bad` says yes to is, or None; iterative, so deep nesting cannot exhaust
    the stack."""
    stack: list[tuple[Loc, Any]] = [(loc, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if bad(key):
                    return where
                stack.append(((*where, key), child))
        elif isinstance(item, list | tuple):
            stack.extend(((*where, index), child) for index, child in enumerate(item))
        elif bad(item):
            return where
    return None


def _bad_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def json_depth(value: JsonValue) -> int:
    """The nesting depth of a JSON value (a scalar is 0), computed without recursion."""
    deepest = 0
    stack: list[tuple[int, Any]] = [(0, value)]
    while stack:
        depth, item = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((depth + 1, child) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((depth + 1, child) for child in item)
    return deepest
