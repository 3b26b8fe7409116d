"""Contract §2, seen from the agent: the call body and headers, inputs, ordering and parallelism, answers."""

from __future__ import annotations

import base64
import uuid

from e2e.execution.recording_agent import RecordingAgent, answering, sleeping
from e2e.execution.service_api import Json, Wf, attempts_of, body_of, step
from fixtures.agents import DemoAgent
from wfapp import __version__

# Each agent's auth settings, and the auth headers its calls must carry (and no other).
AUTHS: dict[str, tuple[Json, dict[str, str]]] = {
    "plain": ({"auth_type": "none"}, {}),
    "bearer": ({"auth_type": "bearer", "auth_config": {"token": "t0ken-abc"}}, {"authorization": "Bearer t0ken-abc"}),
    "basic": (
        {"auth_type": "basic", "auth_config": {"username": "ada", "password": "s3cret:pw"}},
        {"authorization": "Basic " + base64.b64encode(b"ada:s3cret:pw").decode()},
    ),
    "keyed": ({"auth_type": "api_key", "auth_config": {"key": "k-123"}}, {"x-api-key": "k-123"}),
    "custom_keyed": (
        {"auth_type": "api_key", "auth_config": {"key": "k-456", "header": "X-Secret-Key"}},
        {"x-secret-key": "k-456"},
    ),
}
AUTH_HEADERS = {"authorization", "x-api-key", "x-secret-key"}


async def test_every_call_carries_the_contract_body_and_headers(wf: Wf, recording_agent: RecordingAgent) -> None:
    for name, (auth, _) in AUTHS.items():
        await wf.agent(recording_agent.url(f"/{name}"), name, **auth)
    workflow = await wf.workflow(*(step(name, name, input={"who": name, "n": "{{ input.n }}"}) for name in AUTHS))
    request_id = f"exec-{uuid.uuid4().hex}"
    response = await wf.execute(workflow["id"], {"n": 7}, headers={"X-Request-ID": request_id, "X-User-ID": "ada"})
    run = await body_of(response, 202)
    assert response.headers["X-Request-ID"] == request_id
    assert (await wf.wait(run["id"]))["status"] == "succeeded"

    for name, (_, auth_headers) in AUTHS.items():
        call = recording_agent.one(name)
        assert call.body == {
            "run_id": run["id"],
            "step_id": name,
            "attempt": 1,
            "workflow": {"id": workflow["id"], "name": workflow["name"], "version": 1},
            "input": {"who": name, "n": 7},
        }
        assert call.headers["idempotency-key"] == f"{run['id']}:{name}:1"
        assert call.headers["x-request-id"] == request_id
        assert call.headers["user-agent"] == f"wf/{__version__}"
        assert call.headers["content-type"].startswith("application/json")
        sent_auth = {header: value for header, value in call.headers.items() if header in AUTH_HEADERS}
        assert sent_auth == auth_headers, name


async def test_the_request_id_the_service_generated_reaches_the_agent(wf: Wf, demo_agent: DemoAgent) -> None:
    workflow = await wf.workflow(step("only", "echo", input={"x": 1}))
    response = await wf.execute(workflow["id"])
    run = await body_of(response, 202)
    await wf.wait(run["id"])
    [call] = demo_agent.calls("/echo")
    assert call.request_id == response.headers["X-Request-ID"]


async def test_templates_resolve_into_exactly_the_input_the_agent_receives(wf: Wf, demo_agent: DemoAgent) -> None:
    run_input = {"name": "Ada", "n": 3, "flag": False, "obj": {"k": [1, None, "v"]}, "ratio": 0.5}
    outcome = await wf.finish(
        step("first", "echo", input={"greeting": "Hi {{ input.name }}, n={{ input.n }}!", "obj": "{{ input.obj }}"}),
        step(
            "second",
            "echo",
            "first",
            input={
                "whole": "{{ input.obj }}",
                "n": "{{ input.n }}",
                "flag": "{{ input.flag }}",
                "ratio": "{{ input.ratio }}",
                "missing": "{{ input.nothing }}",
                "literal": {"list": [1, "two", {"three": 3}]},
                "from_first": "{{ steps.first.output.greeting }}",
                "nested": ["{{ input.n }}", "n is {{ input.n }}", {"deep": "{{ steps.first.output.obj.k }}"}],
                "run": "{{ run.attempt }}",
            },
        ),
        input=run_input,
    )
    assert outcome.run["status"] == "succeeded", outcome.run
    first, second = (call.input for call in demo_agent.calls("/echo"))
    assert first == {"greeting": "Hi Ada, n=3!", "obj": {"k": [1, None, "v"]}}
    assert second == {
        "whole": {"k": [1, None, "v"]},
        "n": 3,
        "flag": False,
        "ratio": 0.5,
        "missing": None,
        "literal": {"list": [1, "two", {"three": 3}]},
        "from_first": "Hi Ada, n=3!",
        "nested": [3, "n is 3", {"deep": [1, None, "v"]}],
        "run": 1,
    }
    assert outcome.steps["second"]["input"] == second
    assert outcome.steps["second"]["output"] == second


async def test_parallel_branches_overlap_and_steps_wait_for_their_dependencies(
    wf: Wf, recording_agent: RecordingAgent
) -> None:
    await wf.agent(recording_agent.url("/quick"), "quick")
    await wf.agent(recording_agent.on("/slow", sleeping(0.4)), "slow")
    outcome = await wf.finish(
        step("start", "quick"),
        step("left", "slow", "start"),
        step("right", "slow", "start"),
        step("join", "quick", "left", "right"),
    )
    assert outcome.run["status"] == "succeeded", outcome.run
    start, left, right, join = (recording_agent.one(name) for name in ("start", "left", "right", "join"))
    assert start.ended <= min(left.started, right.started)
    # The two branches were at the agent at the same time: each started before the other ended.
    assert max(left.started, right.started) < min(left.ended, right.ended)
    assert join.started >= max(left.ended, right.ended)


async def test_answers_other_than_json_become_text_or_fail_when_too_large(wf: Wf) -> None:
    too_large = 1_048_576 + 1
    outcome = await wf.finish(
        step("text", "text", input={"text": "plain words"}),
        step("sized", "big", input={"bytes": too_large}, on_failure="continue"),
        step("chunked", "big", input={"bytes": too_large, "chunked": True}, on_failure="continue"),
        step("small", "big", input={"bytes": 10}),
    )
    assert outcome.steps["text"]["output"] == {"text": "plain words"}
    assert outcome.steps["small"]["output"] == {"text": "x" * 10}
    for name in ("sized", "chunked"):
        assert outcome.steps[name]["status"] == "failed"
        assert outcome.steps[name]["error"]["code"] == "response_too_large", outcome.steps[name]
        # Not among the failures §2 retries: one attempt.
        assert attempts_of(outcome.steps[name]) == [(1, 200, "response_too_large")]


async def test_an_output_no_database_can_store_fails_the_step_once_and_error_texts_are_cleaned(
    wf: Wf, recording_agent: RecordingAgent
) -> None:
    answers = {
        "with_nul": answering(200, '{"summary": "a\\u0000b"}', content_type="application/json"),
        "with_nan": answering(200, '{"score": NaN}', content_type="application/json"),
        "text_with_nul": answering(200, "plain\x00words"),
        "refused": answering(400, "bad\x00request"),
    }
    for name, behaviour in answers.items():
        await wf.agent(recording_agent.on(f"/{name}", behaviour), name)
    outcome = await wf.finish(*(step(name, name, on_failure="continue") for name in answers))

    for name in ("with_nul", "with_nan", "text_with_nul"):
        assert attempts_of(outcome.steps[name]) == [(1, 200, "unstorable_output")], outcome.steps[name]
    assert outcome.steps["with_nul"]["error"]["message"].endswith("at summary)")
    assert outcome.steps["refused"]["error"]["body"] == "bad\ufffdrequest"
    assert [len(recording_agent.exchanges(name)) for name in answers] == [1, 1, 1, 1], "none was called again"
