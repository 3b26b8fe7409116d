"""Validating a 500-step definition: the edge, compile_definition and the catalog's validate.

The definition mixes chains and fans: blocks of a 3-step chain, a fan of 6 steps out of it and a
join of the fan, each block depending on the previous one's join, so the last steps have hundreds
of ancestors. Every step's input template reads its direct dependencies, the previous block's
join and the run input; the fan steps have a `when`. The catalog runs on the in-memory adapters.

Prints the p50 and p99 of each phase over the repetitions, in wall-clock time and in CPU time of
this process (which other processes on a busy machine do not inflate), and the ratio of the whole
path (the edge's structuring plus `WorkflowCatalog.validate`, what `POST /api/v1/workflows/validate`
does) to the 50 ms target. Exits 0 whatever the figures.

The garbage collector is set as `wf serve` sets it once started (`settle_garbage_collector`), since
that is where the validation runs; `--gc default` measures with the interpreter's defaults instead.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs

from adapters_http.server.converter import structure
from adapters_http.server.schemas.workflows import WorkflowBody
from adapters_memory.agents import CallableInvoker
from adapters_memory.store import MemoryStore
from adapters_memory.system import SystemClock, UuidGenerator
from adapters_memory.unit_of_work import MemoryUnitOfWork
from wfapp.lifecycle import settle_garbage_collector
from wfcore.domain.workflows import WorkflowDefinition, compile_definition
from wfcore.use_cases.agents import AgentRegistry, RegisterAgent
from wfcore.use_cases.common import Services
from wfcore.use_cases.workflows import WorkflowCatalog

TARGET_MS = 50.0
GC_SETTINGS = {
    "server": "the garbage collector as wf serve sets it",
    "default": "the interpreter's default garbage collector",
}
AGENTS = ("extract", "enrich", "score", "notify")
CHAIN = 3
FAN = 6
BLOCK = CHAIN + FAN + 1


def definition_document(steps: int) -> dict[str, Any]:
    """A workflow document of `steps` steps: blocks of a chain, a fan out of it and a join, one after another."""
    document: list[dict[str, Any]] = []
    previous_join: str | None = None
    block = 0
    while len(document) < steps:
        chain = [f"b{block}_chain{index}" for index in range(CHAIN)]
        fan = [f"b{block}_fan{index}" for index in range(FAN)]
        join = f"b{block}_join"
        planned: list[tuple[str, list[str]]] = []
        for index, step_id in enumerate(chain):
            deps = [chain[index - 1]] if index else ([previous_join] if previous_join else [])
            planned.append((step_id, deps))
        planned += [(step_id, [chain[-1]]) for step_id in fan]
        planned.append((join, fan))
        for step_id, deps in planned[: steps - len(document)]:
            document.append(_step(step_id, deps, previous_join, is_fan=step_id in fan))
        previous_join = join
        block += 1
    return {
        "name": f"bench-{steps}-steps",
        "description": "chains, fans and joins, templates reading ancestors",
        "input_schema": {"type": "object", "required": ["batch"]},
        "steps": document,
        "output": {"last": f"{{{{ steps.{document[-1]['id']}.output }}}}"},
    }


def _step(step_id: str, deps: list[str], previous_join: str | None, *, is_fan: bool) -> dict[str, Any]:
    agent = AGENTS[len(step_id) % len(AGENTS)]
    step_input: dict[str, Any] = {
        "batch": "{{ input.batch }}",
        "label": f"{step_id} of run {{{{ run.id }}}} (attempt {{{{ run.attempt }}}})",
        "from": {dep: f"{{{{ steps.{dep}.output }}}}" for dep in deps},
    }
    step: dict[str, Any] = {"id": step_id, "agent": agent, "depends_on": deps, "input": step_input}
    if previous_join and previous_join not in deps:
        step_input["earlier"] = f"{{{{ steps.{previous_join}.output.total }}}}"
    if is_fan:
        step["when"] = f"steps.{deps[0]}.status == 'succeeded' && input.batch != `null`"
        step["on_failure"] = "continue"
    return step


def p50(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def p99(samples: Sequence[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


@attrs.frozen
class Figures:
    """The timings of one phase, in milliseconds: wall-clock and CPU time of each repetition."""

    name: str
    wall: tuple[float, ...]
    cpu: tuple[float, ...]

    def line(self) -> str:
        return (
            f"  {self.name:<30} wall p50 {p50(self.wall):7.2f} ms  p99 {p99(self.wall):7.2f} ms"
            f"   cpu p50 {p50(self.cpu):7.2f} ms  p99 {p99(self.cpu):7.2f} ms"
        )


async def _catalog() -> WorkflowCatalog:
    store = MemoryStore()
    services = Services(uow=lambda: MemoryUnitOfWork(store), clock=SystemClock(), ids=UuidGenerator())
    registry = AgentRegistry(services, CallableInvoker(services.clock))
    for name in AGENTS:
        await registry.register(RegisterAgent(name=name, url=f"http://{name}.agents.test/run"))
    return WorkflowCatalog(services)


async def _timed(name: str, repetitions: int, work: Callable[[], Awaitable[object]]) -> Figures:
    wall, cpu = [], []
    for _ in range(repetitions):
        started, started_cpu = time.perf_counter(), time.process_time()
        await work()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return Figures(name, tuple(wall), tuple(cpu))


async def measure(steps: int, repetitions: int, warmup: int) -> list[Figures]:
    """The figures of each phase for a definition of `steps` steps."""
    document = definition_document(steps)
    catalog = await _catalog()
    definition: WorkflowDefinition = structure(document, WorkflowBody).to_definition()

    async def edge() -> object:
        return structure(document, WorkflowBody).to_definition()

    async def compile_only() -> object:
        return compile_definition(definition)

    async def validate() -> object:
        return await catalog.validate(definition)

    async def whole_path() -> object:
        return await catalog.validate(structure(document, WorkflowBody).to_definition())

    phases = [
        ("edge: structure(WorkflowBody)", edge),
        ("compile_definition", compile_only),
        ("WorkflowCatalog.validate", validate),
        ("whole path (edge + validate)", whole_path),
    ]
    figures = []
    for name, work in phases:
        await _timed(name, warmup, work)
        figures.append(await _timed(name, repetitions, work))
    return figures


def main(argv: Sequence[str]) -> int:
    """Run the benchmark with the options in `argv`; print the figures; return 0."""
    parser = argparse.ArgumentParser(prog="python -m bench validate", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="steps in the definition (default 500)")
    parser.add_argument("--repetitions", "-n", type=int, default=50, help="timed runs of each phase (default 50)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument(
        "--gc",
        choices=GC_SETTINGS,
        default="server",
        help="the garbage collector as `wf serve` sets it (default), or the interpreter's defaults",
    )
    args = parser.parse_args(argv)
    if args.gc == "server":
        settle_garbage_collector()
    figures = asyncio.run(measure(args.steps, max(args.repetitions, 1), max(args.warmup, 0)))
    print(
        f"validate: a {args.steps}-step definition (blocks of a {CHAIN}-step chain, a fan of {FAN} and a join), "
        f"{max(args.repetitions, 1)} repetitions after {args.warmup} warm-up, {GC_SETTINGS[args.gc]}"
    )
    for phase in figures:
        print(phase.line())
    whole = figures[-1]
    for clock, samples in (("wall", whole.wall), ("cpu", whole.cpu)):
        verdict = "within" if p99(samples) <= TARGET_MS else "OVER"
        print(
            f"  whole path / {TARGET_MS:.0f} ms target ({clock}): p50 {p50(samples) / TARGET_MS:.2f}x, "
            f"p99 {p99(samples) / TARGET_MS:.2f}x ({verdict} target at p99)"
        )
    return 0
