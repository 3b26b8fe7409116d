"""`docs/api.md` is executable: each of its examples, in order, against the whole service and a demo agent.

Every example's status, content type, listed headers and the keys of its body must be what the doc
shows; every operation of the OpenAPI document has an example; the problem type table is complete.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse

from adapters_http.server.problems import CODE_OF_STATUS, status_of_class
from e2e.openapi.doc_examples import Example, capture, examples, fill, same_keys
from fixtures.agents import DemoAgent
from fixtures.service import RunningService
from wfcore.domain.errors import WfError

API_DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
POLL_SECONDS = 10.0


async def send(service: RunningService, example: Example, values: dict[str, str]) -> tuple[ClientResponse, str]:
    """The example's request, placeholders filled; a `poll` example is repeated until its `status` is the doc's."""
    headers = {name: fill(value, values) for name, value in example.request.headers.items()}
    path = fill(example.path, values)
    body = fill(example.request.body, values).encode() or None
    async with asyncio.timeout(POLL_SECONDS):
        while True:
            response = await service.client.request(example.method, path, headers=headers, data=body)
            text = (await response.read()).decode(errors="replace")
            if not example.poll or json.loads(text).get("status") == example.response.json()["status"]:
                return response, text
            await asyncio.sleep(0.05)


async def run(service: RunningService, example: Example, values: dict[str, str]) -> None:
    response, text = await send(service, example, values)
    where = f"{example.request.first_line} -> {response.status} {text[:300]}"
    assert response.status == example.status, where
    media_type = example.response.headers.get("Content-Type", "")
    if media_type.endswith("json"):
        expected, actual = example.response.json(), json.loads(text)
        same_keys(expected, actual)
        capture(expected, actual, values, example.request.first_line)
        if media_type == "application/problem+json":
            assert actual["type"] == expected["type"], where
    elif media_type == "text/event-stream":
        for event in re.findall(r"^event: (\w+)$", example.response.body, re.MULTILINE):
            assert f"event: {event}\n" in text, f"{where}: no {event}"
    assert response.content_type == media_type.split(";")[0] or not media_type, where
    for name, value in example.response.headers.items():
        assert name in response.headers, f"{where}: no {name}"
        if name in ("Location", "Allow"):
            assert response.headers[name] == fill(value, values), where


async def test_every_example_of_the_api_doc_runs_as_shown(service: RunningService, demo_agent: DemoAgent) -> None:
    values = {"demo_agent": demo_agent.base_url.rstrip("/")}
    documented = examples(API_DOC)
    for example in documented:
        await run(service, example, values)
    print(f"\n{len(documented)} examples of docs/api.md ran as shown")


async def test_every_operation_has_an_example(document: dict[str, Any]) -> None:
    shown = {(example.method, _template(example.path.partition("?")[0])) for example in examples(API_DOC)}
    operations = {(method.upper(), _template(path)) for path, item in document["paths"].items() for method in item}
    assert operations - shown == set()


def test_the_problem_type_table_names_every_problem() -> None:
    rows = re.findall(r"^\| `urn:wf:problem:([a-z_]+)` \| (\d{3}) \|", API_DOC.read_text(), re.MULTILINE)
    documented = {code: int(status) for code, status in rows}
    produced = {code: status for status, code in CODE_OF_STATUS.items()}
    for error in _subclasses(WfError):
        if error.__module__.startswith("wfcore."):  # the errors the API can meet, not a CLI's own
            produced[error.code] = status_of_class(error) or 500
    assert documented == produced


def _subclasses(cl: type[WfError]) -> list[type[WfError]]:
    return [cl, *(sub for direct in cl.__subclasses__() for sub in _subclasses(direct))]


def _template(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "{}", path)
