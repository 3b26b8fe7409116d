"""Workflow files for `wf workflows apply`: finding them, reading them, and naming places in them.

A workflow file is YAML (`.yaml`, `.yml`) or JSON (`.json`) holding one workflow document: the body
of `POST /api/v1/workflows`. Whatever is wrong with a file is an `ErrorDetail` with a `loc` into the
document, rendered as `steps[2].depends_on[0]` by `format_loc`.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import yaml

from wfcore.domain.errors import ErrorDetail, Loc

WORKFLOW_SUFFIXES = (".yaml", ".yml", ".json")
_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
_JSON_SCALARS = (str, int, float, bool, type(None))


class NoWorkflowFiles(Exception):
    """The path names no workflow file: it does not exist, or it is a folder without any."""


@attrs.frozen
class WorkflowFile:
    """One file read: its document, or why there is none."""

    path: Path
    document: dict[str, Any] | None
    errors: tuple[ErrorDetail, ...] = ()


def workflow_paths(path: Path) -> list[Path]:
    """`path` itself when it is a file; else the workflow files directly in that folder, sorted by name."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise NoWorkflowFiles(f"{path}: no such file or folder")
    found = sorted(child for child in path.iterdir() if child.is_file() and child.suffix in WORKFLOW_SUFFIXES)
    if not found:
        raise NoWorkflowFiles(
            f"{path}: no {', '.join('*' + suffix for suffix in WORKFLOW_SUFFIXES)} file in this folder"
        )
    return found


def read_workflow_file(path: Path) -> WorkflowFile:
    """The document in `path`: JSON for `.json`, YAML otherwise; it must be one mapping of JSON values."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return _failed(path, "is not UTF-8 text", "encoding")
    except OSError as error:
        return _failed(path, f"cannot be read: {error.strerror or error}", "io")
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        return _failed(path, f"line {error.lineno}, column {error.colno}: {error.msg}", "json")
    except yaml.YAMLError as error:
        return _failed(path, _yaml_error(error), "yaml")
    if not isinstance(document, dict):
        return _failed(path, f"must hold one workflow, a mapping of its fields, not {_kind(document)}", "not_a_mapping")
    errors = tuple(_non_json(document, ()))
    return WorkflowFile(path=path, document=None if errors else document, errors=errors)


def format_loc(loc: Loc) -> str:
    """`("steps", 2, "depends_on", 0)` as `steps[2].depends_on[0]`; keys that are not plain names are quoted."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


def format_error(path: Path | str, error: ErrorDetail) -> str:
    """One line naming the file, the place in it and what is wrong there."""
    where = format_loc(error.loc)
    return f"{path}: {where}: {error.msg}" if where else f"{path}: {error.msg}"


def _failed(path: Path, msg: str, type_: str) -> WorkflowFile:
    return WorkflowFile(path=path, document=None, errors=(ErrorDetail(loc=(), msg=msg, type=type_),))


def _yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    if context:
        problem = f"{context}, {problem}"
    if mark is None:
        return f"is not valid YAML: {problem}"
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _kind(value: Any) -> str:
    if value is None:
        return "an empty document"
    if isinstance(value, list):
        return "a list"
    return f"a single value ({type(value).__name__})"


def _non_json(value: Any, loc: Loc) -> Iterator[ErrorDetail]:
    """What YAML reads but JSON cannot hold: dates, keys that are not strings, infinities and NaN."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield ErrorDetail(
                    loc=loc,
                    msg=f"key {key!r} was read as {type(key).__name__}, but keys must be strings; quote it",
                    type="key_type",
                )
            else:
                yield from _non_json(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_json(item, (*loc, index))
    elif isinstance(value, float) and not math.isfinite(value):
        yield ErrorDetail(loc=loc, msg=f"{value} is not a JSON number", type="not_json")
    elif isinstance(value, datetime.date):
        yield ErrorDetail(loc=loc, msg=f"was read as a date ({value}); quote it to keep it text", type="not_json")
    elif not isinstance(value, _JSON_SCALARS):
        yield ErrorDetail(loc=loc, msg=f"a {type(value).__name__} is not a JSON value", type="not_json")
