"""Rules shared by several entities: names, text that every database can store."""

from __future__ import annotations

import re
from typing import Any

from wfcore.domain.errors import Loc, Problems

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
NAME_MAX_LENGTH = 100

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
    Iterative, so deeply nested input cannot exhaust the stack.
    """
    stack: list[tuple[Loc, Any]] = [(loc, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if _bad_text(item):
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _bad_text(key):
                    return where
                stack.append(((*where, key), child))
        elif isinstance(item, list | tuple):
            stack.extend(((*where, index), child) for index, child in enumerate(item))
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
