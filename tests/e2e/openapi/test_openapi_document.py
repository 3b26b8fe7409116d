"""`GET /openapi.json`: a valid OpenAPI 3.1 document that describes exactly what the app serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import OpenAPIV31SpecValidator

from adapters_http.server import HttpSettings
from adapters_http.server.schemas.agents import AgentCreate
from adapters_http.server.schemas.runs import RunResponse
from e2e.openapi.conftest import API_KEYS, Client

METHODS = ("get", "put", "post", "delete", "patch")
TAGS = {"agents", "workflows", "runs", "audit", "system"}
PROBLEM_JSON = "application/problem+json"


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return next(op for _, _, op in operations(document) if op["operationId"] == operation_id)


def parameter(op: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in op["parameters"] if p["name"] == name)


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of `schema` whose `#/components/...` references resolve inside `document`."""
    return Draft202012Validator(
        {"components": document["components"], "allOf": [schema]}, format_checker=FormatChecker()
    )


@pytest.mark.parametrize("http_settings", [API_KEYS, HttpSettings()], ids=["keys", "no-keys"])
async def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


async def test_every_route_is_documented_and_every_operation_is_served(
    docs_client: Client, document: dict[str, Any]
) -> None:
    app = docs_client.app
    assert app is not None
    served = {
        (route.method.lower(), route.resource.canonical) for route in app.router.routes() if route.resource is not None
    }
    documented = {(method, path) for path, method, _ in operations(document)}
    assert served == documented
    assert ("get", "/api/v1/runs/{run_id}/events") in served
    assert ("get", "/openapi.json") in served
    assert ("get", "/docs") in served
    assert ("get", "/redoc") in served


async def test_every_operation_has_an_id_a_summary_a_description_and_a_tag(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    for _, _, op in operations(document):
        assert op["summary"]
        assert op["description"]
        assert len(op["tags"]) == 1
        assert op["tags"][0] in TAGS
    assert {tag["name"] for tag in document["tags"]} == TAGS


async def test_every_json_body_has_an_example_that_matches_its_schema(document: dict[str, Any]) -> None:
    checked = 0
    for path, method, op in operations(document):
        bodies = [("request", op["requestBody"])] if "requestBody" in op else []
        bodies += [(status, reply) for status, reply in op["responses"].items() if "$ref" not in reply]
        for where, body in bodies:
            for media_type, content in body.get("content", {}).items():
                if media_type != "application/json" or path == "/openapi.json":
                    continue
                assert "example" in content, f"{method} {path} {where}"
                validator(document, content["schema"]).validate(content["example"])
                checked += 1
    for response in document["components"]["responses"].values():
        content = response["content"][PROBLEM_JSON]
        validator(document, content["schema"]).validate(content["example"])
        checked += 1
    assert checked > 30


async def test_a_wrong_example_would_be_caught(document: dict[str, Any]) -> None:
    schema = {"$ref": "#/components/schemas/AgentResponse"}
    example = operation(document, "getAgent")["responses"]["200"]["content"]["application/json"]["example"]
    assert not validator(document, schema).is_valid({**example, "timeout_ms": "slow"})
    assert not validator(document, schema).is_valid({**example, "surprise": 1})
    assert not validator(document, schema).is_valid({**example, "created_at": "yesterday"})


async def test_schemas_are_generated_from_the_schema_classes(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for cl in (AgentCreate, RunResponse):
        schema = schemas[cl.__name__]
        assert list(schema["properties"]) == [field.name for field in attrs.fields(cl)]
        assert schema["additionalProperties"] is False
    assert schemas["AgentCreate"]["required"] == ["name", "url"]
    name = schemas["AgentCreate"]["properties"]["name"]
    assert (name["minLength"], name["maxLength"], name["pattern"]) == (1, 100, "^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    timeout = schemas["AgentCreate"]["properties"]["timeout_ms"]
    assert {key: timeout[key] for key in ("type", "minimum", "maximum", "default")} == {
        "type": "integer",
        "minimum": 100,
        "maximum": 600_000,
        "default": 30_000,
    }
    assert schemas["RunResponse"]["properties"]["finished_at"]["type"] == ["string", "null"]
    assert schemas["RunResponse"]["properties"]["finished_at"]["format"] == "date-time"
    assert schemas["RunStatus"]["enum"] == ["pending", "running", "succeeded", "failed", "cancelled"]
    assert schemas["AgentPage"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/AgentResponse"}
    auth = schemas["AgentCreate"]["properties"]["auth_config"]["anyOf"]
    assert {"$ref": "#/components/schemas/BasicAuthConfig"} in auth
    assert {"type": "null"} in auth
    version = schemas["WorkflowVersionResponse"]
    assert {"name", "steps", "id", "version", "created_at", "created_by"} <= set(version["required"])


async def test_parameters_carry_their_constraints(document: dict[str, Any]) -> None:
    agents = operation(document, "listAgents")
    assert parameter(agents, "limit")["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert parameter(agents, "offset")["schema"]["minimum"] == 0
    assert "-updated_at" in parameter(agents, "sort")["schema"]["enum"]
    runs = operation(document, "listRuns")
    status = parameter(runs, "status")
    assert (status["style"], status["explode"]) == ("form", True)
    assert status["schema"]["items"] == {"$ref": "#/components/schemas/RunStatus"}
    assert parameter(runs, "created_after")["schema"]["format"] == "date-time"
    assert parameter(runs, "workflow_id")["schema"]["format"] == "uuid"
    run_id = parameter(operation(document, "getRun"), "run_id")
    assert run_id["in"] == "path"
    assert run_id["required"]
    assert run_id["schema"]["format"] == "uuid"
    key = parameter(operation(document, "executeWorkflow"), "Idempotency-Key")
    assert key["in"] == "header"
    assert key["schema"]["maxLength"] == 255


async def test_errors_are_problem_details(document: dict[str, Any]) -> None:
    for name, response in document["components"]["responses"].items():
        assert list(response["content"]) == [PROBLEM_JSON], name
        assert response["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/ProblemDetails"}
    for path, method, op in operations(document):
        statuses = {int(status) for status in op["responses"]}
        errors = {status for status in statuses if status >= 400}
        for status in errors - ({503} if path == "/health/ready" else set()):
            assert op["responses"][str(status)]["$ref"].startswith("#/components/responses/")
        if path.startswith("/api/"):
            assert 503 in errors
        if "{" in path:
            assert 404 in errors, f"{method} {path}"
        if "requestBody" in op:
            assert {400, 413, 415, 422} <= errors, f"{method} {path}"
        if any(p["in"] == "query" for p in op.get("parameters", [])):
            assert 422 in errors, f"{method} {path}"
        assert 401 not in errors
    assert {"409"} <= set(operation(document, "createAgent")["responses"])
    assert {"409"} <= set(operation(document, "cancelRun")["responses"])
    problem = document["components"]["responses"]["UnprocessableEntity"]["content"][PROBLEM_JSON]["example"]
    assert problem["type"] == "urn:wf:problem:invalid"
    assert problem["errors"][0]["loc"] == ["timeout_ms"]


async def test_success_responses_name_their_headers_and_links(document: dict[str, Any]) -> None:
    created = operation(document, "createAgent")["responses"]["201"]
    assert "Location" in created["headers"]
    assert "X-Request-ID" in created["headers"]
    assert created["links"]["getAgent"] == {"operationId": "getAgent", "parameters": {"agent_id": "$response.body#/id"}}
    executed = operation(document, "executeWorkflow")["responses"]
    assert set(executed) >= {"200", "202"}
    assert executed["202"]["links"]["getRun"]["parameters"] == {"run_id": "$response.body#/id"}
    assert executed["202"]["links"]["getWorkflow"]["parameters"] == {"workflow_id": "$response.body#/workflow_id"}


async def test_the_event_stream_is_documented_event_by_event(document: dict[str, Any]) -> None:
    reply = operation(document, "streamRunEvents")["responses"]["200"]
    assert list(reply["content"]) == ["text/event-stream"]
    content = reply["content"]["text/event-stream"]
    event = document["components"]["schemas"]["ServerSentEvent"]
    assert event["properties"]["data"]["contentSchema"] == {"$ref": "#/components/schemas/EventResponse"}
    fields = dict(line.split(": ", 1) for line in content["example"].strip().splitlines())
    validator(document, content["schema"]).validate(fields)
    assert parameter(operation(document, "streamRunEvents"), "Last-Event-ID")["in"] == "header"


@pytest.mark.parametrize("http_settings", [API_KEYS])
async def test_with_api_keys_the_api_needs_one_and_the_docs_stay_open(
    docs_client: Client, document: dict[str, Any]
) -> None:
    assert set(document["components"]["securitySchemes"]) == {"bearerKey", "headerKey"}
    for path, method, op in operations(document):
        if path.startswith("/api/"):
            assert "401" in op["responses"], f"{method} {path}"
            assert op["security"], f"{method} {path}"
        else:
            assert "401" not in op["responses"], f"{method} {path}"
            assert "security" not in op, f"{method} {path}"
    for path in ("/openapi.json", "/docs", "/redoc", "/health", "/docs/static/redoc.standalone.js"):
        assert (await docs_client.get(path)).status == 200, path
    assert (await docs_client.get("/api/v1/agents")).status == 401


async def test_the_pages_and_their_assets_are_served_locally(docs_client: Client) -> None:
    for page in ("/docs", "/redoc"):
        response = await docs_client.get(page)
        assert response.status == 200
        assert response.content_type == "text/html"
        html = await response.text()
        assert "http://" not in html
        assert "https://" not in html
        assert 'openapi.json"' in html
    bundle = await docs_client.get("/docs/static/swagger-ui-bundle.js")
    assert bundle.status == 200
    assert bundle.content_type == "text/javascript"
    assert "SwaggerUIBundle" in await bundle.text()
    style = await docs_client.get("/docs/static/swagger-ui.css")
    assert style.status == 200
    assert style.content_type == "text/css"
    redoc = await docs_client.get("/docs/static/redoc.standalone.js")
    assert redoc.status == 200
    assert len(await redoc.read()) > 500_000
    assert (await docs_client.get("/docs/static/../../routes/docs.py")).status == 404
    assert (await docs_client.post("/openapi.json")).status == 405
