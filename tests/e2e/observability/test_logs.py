"""Log lines as JSON, one access line per request, each carrying the request's id."""

from __future__ import annotations

import json
import logging

import pytest

from fixtures.service import RunningService
from wfapp.logs import configure_logging


async def test_each_request_logs_one_json_access_line_with_its_request_id(
    service: RunningService, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", "json")  # here, so that its handler writes to the stream capsys captures now
    try:
        response = await service.client.post(
            "/api/v1/agents",
            json={"name": "logged", "url": "http://127.0.0.1:9/"},
            headers={"X-Request-ID": "trace-42"},
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert response.status == 201
    assert response.headers["X-Request-ID"] == "trace-42"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "adapters_http.server.access"]
    assert len(access) == 1
    assert access[0]["request_id"] == "trace-42"
    assert "POST /api/v1/agents 201" in access[0]["message"]
    assert {"time", "level", "logger", "message", "request_id"} <= set(access[0])
