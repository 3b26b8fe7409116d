"""Running `wf workflows apply` in tests, and reading back what it stored.

The command runs its own event loop (`asyncio.run`), so tests run it in a thread: the test's loop
keeps serving the wf server and the database the command talks to.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from pathlib import Path
from typing import Any

import attrs
import yaml

from wfapp.apply import run_apply
from wfcore.domain.ids import WorkflowId
from wfcore.domain.workflows import WorkflowVersion
from wfcore.ports.persistence import WorkflowQuery
from wfcore.use_cases.workflows import WorkflowCatalog

EXAMPLES = Path(__file__).parents[3] / "examples"
EXAMPLE_WORKFLOWS = EXAMPLES / "workflows"
EXAMPLE_AGENTS = EXAMPLES / "agents"
EXAMPLE_NAMES = ["nightly-report", "triage-ticket", "welcome-user"]


@attrs.frozen
class Applied:
    """What one `wf workflows apply` printed and its exit status."""

    status: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """The lines printed on stdout, the summary last."""
        return self.stdout.splitlines()

    @property
    def errors(self) -> list[str]:
        return self.stderr.splitlines()


async def apply(*argv: str | Path) -> Applied:
    """Run `wf workflows apply ARGV` in a thread of its own; what it printed and returned."""
    stdout, stderr = io.StringIO(), io.StringIO()
    status = await asyncio.to_thread(run_apply, [str(arg) for arg in argv], stdout=stdout, stderr=stderr)
    return Applied(status=status, stdout=stdout.getvalue(), stderr=stderr.getvalue())


def example_agents() -> list[dict[str, Any]]:
    """The agent documents of `examples/agents`, which the example workflows reference by name."""
    return [json.loads(path.read_text()) for path in sorted(EXAMPLE_AGENTS.glob("*.json"))]


def copy_examples(folder: Path) -> Path:
    """A copy of the example workflow files (not their subfolders) in `folder`, to edit freely."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in EXAMPLE_WORKFLOWS.iterdir():
        if path.is_file():
            shutil.copy(path, folder / path.name)
    return folder


def load_yaml(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def write_yaml(path: Path, document: Any) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


async def latest_versions(catalog: WorkflowCatalog) -> dict[str, WorkflowVersion]:
    """The latest version of every live workflow, by name."""
    page = await catalog.list(WorkflowQuery(limit=100))
    found: dict[str, WorkflowVersion] = {}
    for workflow in page.items:
        _, version = await catalog.get(workflow.id)
        found[workflow.name] = version
    return found


async def version(catalog: WorkflowCatalog, workflow_id: str, number: int) -> WorkflowVersion:
    _, found = await catalog.get(WorkflowId(workflow_id), number)
    return found
