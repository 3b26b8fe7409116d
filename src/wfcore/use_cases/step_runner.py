"""One step of a run: decide whether it runs, resolve its input, and call its agent with retries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from wfcore.domain.agents import RetryPolicy
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.expressions import is_truthy
from wfcore.domain.runs import Run, StepAttempt, StepError, StepExecution, StepStatus
from wfcore.domain.values import storable_text, unstorable_json
from wfcore.domain.workflows import CompiledStep
from wfcore.ports.agents import AgentCall, AgentReply

if TYPE_CHECKING:
    from wfcore.use_cases.engine import RunExecution


def step_context(run: Run, steps: Mapping[str, StepExecution]) -> dict[str, Any]:
    """The context expressions see: `{input, steps: {<id>: {output, status}}, run: {id, attempt}}`."""
    return {
        "input": run.input,
        "steps": {step_id: {"output": step.output, "status": step.status.value} for step_id, step in steps.items()},
        "run": {"id": run.id, "attempt": run.attempt},
    }


@attrs.define
class StepRunner:
    execution: RunExecution
    compiled: CompiledStep

    def prepare(self, step: StepExecution, context: Mapping[str, Any], now: Any) -> StepExecution:
        """The step skipped, failed before any call, or running with its resolved input."""
        definition = self.compiled.definition
        if self.compiled.when is not None:
            try:
                go = is_truthy(self.compiled.when.evaluate(context))
            except Exception as error:
                return self._failed(step, now, "when_error", f"the when expression failed: {error}")
            if not go:
                return step.to(StepStatus.SKIPPED, finished_at=now)
        agent = self.execution.agents.get(definition.id)
        if agent is None or not agent.is_active:
            state = "does not exist (or was deleted)" if agent is None else "is inactive"
            message = f"agent {definition.agent!r} {state}; fix the agent or the workflow, then retry the run"
            return self._failed(step, now, "agent_unavailable", message)
        try:
            resolved = self.compiled.input.render(context)
        except Exception as error:
            return self._failed(step, now, "input_error", f"the input template failed: {error}")
        return step.to(StepStatus.RUNNING, agent_id=agent.id, input=resolved, started_at=now, attempts=())

    def _failed(self, step: StepExecution, now: Any, code: str, message: str) -> StepExecution:
        running = step.to(StepStatus.RUNNING, started_at=now)
        return running.to(StepStatus.FAILED, finished_at=now, error=StepError(code=code, message=message))

    async def call(self, run: Run, step: StepExecution) -> StepExecution:
        """Every attempt of the step until it succeeds, fails for good, or runs out of attempts."""
        execution = self.execution
        services = execution.services
        agent = execution.agents[step.step_id]
        assert agent is not None
        assert execution.workflow is not None
        definition = self.compiled.definition
        policy = execution.workflow.retry_policy(step.step_id, agent.retry)
        attempts = list(step.attempts)
        while True:
            number = len(attempts) + 1
            started = services.clock.now()
            reply = storable(
                await execution.engine.invoker.invoke(
                    AgentCall(
                        agent=agent,
                        run_id=run.id,
                        step_id=step.step_id,
                        attempt=number,
                        workflow_id=run.workflow_id,
                        workflow_name=run.workflow_name,
                        workflow_version=run.workflow_version,
                        input=step.input,
                        idempotency_key=run.agent_idempotency_key(step.step_id),
                        timeout_ms=definition.timeout_ms or agent.timeout_ms,
                        request_id=run.request_id,
                    )
                )
            )
            finished = services.clock.now()
            execution.engine.telemetry.agent_called(
                agent.name, reply.error_code or "ok", (finished - started).total_seconds()
            )
            error = _error_of(reply)
            attempts.append(StepAttempt(number, started, finished, reply.http_status, error))
            if reply.ok:
                return step.to(
                    StepStatus.SUCCEEDED, output=reply.output, attempts=tuple(attempts), finished_at=finished
                )
            assert error is not None
            if not _retryable(reply, policy) or number >= policy.max_attempts:
                return step.to(StepStatus.FAILED, error=error, attempts=tuple(attempts), finished_at=finished)
            delay_ms = execution.engine.random() * policy.backoff_ceiling_ms(number)
            if reply.retry_after_ms is not None:
                delay_ms = min(max(delay_ms, reply.retry_after_ms), float(policy.max_backoff_ms))
            step = attrs.evolve(step, attempts=tuple(attempts))
            if not await self._record_retry(step, error, number, delay_ms):
                return step
            await services.clock.sleep(delay_ms / 1000)
            # The lease may have expired during the backoff (a pause longer than the lease) and another worker
            # may have finished this step: a fenced transaction raises LeaseLost before the agent is called again.
            if not await self._still_going():
                return step

    async def _record_retry(self, step: StepExecution, error: StepError, number: int, delay_ms: float) -> bool:
        """Write the failed attempt and the scheduled retry; False when the run stopped meanwhile."""
        recorded = False

        def mutate(run: Run) -> tuple[Run, list[StepExecution], list[RunEvent]]:
            nonlocal recorded
            if _stopped(run):
                return run, [], []
            recorded = True
            now = self.execution.services.clock.now()
            failed = RunEvent(
                run_id=run.id,
                type=EventType.ATTEMPT_FAILED,
                at=now,
                step_id=step.step_id,
                data={
                    "attempt": number,
                    "code": error.code,
                    "message": error.message,
                    "http_status": error.http_status,
                },
            )
            scheduled = RunEvent(
                run_id=run.id,
                type=EventType.RETRY_SCHEDULED,
                at=now,
                step_id=step.step_id,
                data={"attempt": number + 1, "delay_ms": round(delay_ms, 1)},
            )
            return run, [step], [failed, scheduled]

        await self.execution.write(mutate)
        return recorded

    async def _still_going(self) -> bool:
        """A fenced transaction that changes nothing: LeaseLost when the lease is gone, False when the run stopped."""
        going = False

        def check(run: Run) -> tuple[Run, list[StepExecution], list[RunEvent]]:
            nonlocal going
            going = not _stopped(run)
            return run, [], []

        await self.execution.write(check)
        return going


def _stopped(run: Run) -> bool:
    return run.status.is_finished or run.cancel_requested_at is not None


def _retryable(reply: AgentReply, policy: RetryPolicy) -> bool:
    """An HTTP status is judged by the step's policy (its overrides win over the agent's, which the invoker
    knows); a timeout, a connection error or a bad 2xx body by the invoker."""
    if reply.http_status is not None and not 200 <= reply.http_status < 300:
        return policy.should_retry_status(reply.http_status)
    return reply.retryable


def storable(reply: AgentReply) -> AgentReply:
    """The reply as the run's record can hold it.

    An output no database can store (NUL, an unpaired surrogate, NaN or an infinity) fails the attempt for
    good: the agent would answer the same again, and an output that cannot be written would leave the step
    to be called over and over. In error texts such characters are replaced.
    """
    if not reply.ok:
        return attrs.evolve(
            reply,
            error_message=None if reply.error_message is None else storable_text(reply.error_message),
            body_excerpt=None if reply.body_excerpt is None else storable_text(reply.body_excerpt),
        )
    where = unstorable_json(reply.output)
    if where is None:
        return reply
    at = ".".join(map(str, where)) or "its top level"
    return AgentReply(
        http_status=reply.http_status,
        error_code="unstorable_output",
        error_message=f"the agent's output cannot be stored (NUL, an unpaired surrogate, NaN or an infinity at {at})",
    )


def _error_of(reply: AgentReply) -> StepError | None:
    if reply.ok:
        return None
    return StepError(
        code=reply.error_code or "agent_error",
        message=reply.error_message or "the agent call failed",
        http_status=reply.http_status,
        body=reply.body_excerpt,
    )
