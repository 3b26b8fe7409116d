"""The examples of `docs/api.md`, parsed: each a request block followed by its expected response block.

A request block is a fenced ` ```http ` block: the request line, headers, a blank line, an optional body.
The block after it is the response: the status line, headers, a blank line, an optional body. Placeholders
such as `{agent_id}` are filled from earlier responses: a JSON string that is exactly `"{name}"` in an
expected body captures the actual value (or, once known, must equal it). A request block opened with
` ```http poll ` is repeated until the response's `status` field has the documented value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

FENCE = re.compile(r"^```http( poll)?\n(.*?)^```$", re.MULTILINE | re.DOTALL)
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z][a-z_]*)\}(?!\})")


@attrs.frozen
class Message:
    """A request or a response as the doc writes it."""

    first_line: str
    headers: dict[str, str]
    body: str

    @classmethod
    def parse(cls, text: str) -> Message:
        head, _, body = text.partition("\n\n")
        first_line, *header_lines = head.splitlines()
        headers = dict(line.split(": ", 1) for line in header_lines)
        return cls(first_line=first_line, headers=headers, body=body.strip())

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@attrs.frozen
class Example:
    request: Message
    response: Message
    poll: bool

    @property
    def method(self) -> str:
        return self.request.first_line.split(" ")[0]

    @property
    def path(self) -> str:
        return self.request.first_line.split(" ")[1]

    @property
    def status(self) -> int:
        return int(self.response.first_line.split(" ")[1])


def examples(markdown: Path) -> list[Example]:
    """The examples of `markdown`, in order."""
    blocks = [(match.group(1) is not None, match.group(2)) for match in FENCE.finditer(markdown.read_text())]
    assert len(blocks) % 2 == 0, "every request block is followed by its response block"
    pairs = zip(blocks[::2], blocks[1::2], strict=True)
    return [Example(Message.parse(req), Message.parse(res), poll) for (poll, req), (_, res) in pairs]


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with each known placeholder replaced by its value."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def capture(expected: Any, actual: Any, values: dict[str, str], where: str = "") -> None:
    """Learn the placeholders of `expected` from `actual`; a placeholder already known must match."""
    if isinstance(expected, str) and (match := PLACEHOLDER.fullmatch(expected)):
        name = match.group(1)
        if name in values:
            assert actual == values[name], f"{where}: {actual!r} is not {{{name}}} = {values[name]!r}"
        else:
            values[name] = actual
    elif isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            if key in actual:
                capture(value, actual[key], values, f"{where}.{key}")
    elif isinstance(expected, list) and isinstance(actual, list):
        for index, (value, got) in enumerate(zip(expected, actual, strict=False)):
            capture(value, got, values, f"{where}[{index}]")


def same_keys(expected: Any, actual: Any, where: str = "body") -> None:
    """The objects have the same keys, and so do the first items of their lists."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        assert set(actual) == set(expected), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key in ("items", "errors"):
            if expected.get(key) and actual.get(key):
                same_keys(expected[key][0], actual[key][0], f"{where}.{key}[0]")
