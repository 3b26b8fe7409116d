"""`wf workflows apply`: workflows as code, kept in YAML or JSON files and applied idempotently.

Each file holds one workflow document (the body of `POST /api/v1/workflows`). A workflow is known by
its name: a name with no live workflow is created, a workflow whose latest version differs from the
file gets a new version, and one that matches is left alone. It works on the local database (the
embedded mode, through the `WorkflowService` facade) or on a wf server (`--url`, through the REST API).

Wiring into `wf`: `register_workflows_command(commands)` in `wfapp.cli.build_parser`. From Python or
tests: `run_apply(["-f", "examples/workflows", "--dry-run"])`, which returns the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs
from yarl import URL

from wfapp.apply_documents import NoWorkflowFiles, WorkflowFile, format_error, read_workflow_file, workflow_paths
from wfapp.apply_plan import Action, Applier, Outcome, StoreUnavailable, WorkflowStore, count
from wfapp.apply_stores import open_http_store, open_local_store
from wfapp.settings import SettingsError, load_settings

PROG = "wf workflows apply"
EXIT_OK = 0
EXIT_INVALID = 1
EXIT_FAILED = 2
API_KEY_ENV = "WF_API_KEY"

DESCRIPTION = """\
Create or update workflows from YAML or JSON files, one workflow per file. PATH is a file or a
folder, whose *.yaml, *.yml and *.json files are applied in name order (not its subfolders).

A workflow is known by its name. A name with no live workflow is created (version 1); a workflow
whose latest version differs from the file gets a new version; one that matches is left unchanged.
The server fields (id, version, created_at, created_by, updated_at) are not compared, and a file
without `status` means `status: active`. Renaming a workflow in its file creates a new workflow.
"""

EPILOG = f"""\
Every file is checked as the service checks it. An invalid file is reported with the place in it
(path/to/file.yaml: steps[2].depends_on[0]: unknown step 'x') and is not applied; the valid files
are still applied (in a dry run, nothing is). Exit status: {EXIT_OK} when every file was applied or
unchanged, {EXIT_INVALID} when any file is invalid, {EXIT_FAILED} when the files or the store cannot be used at all
(bad options, no such path, server unreachable or refusing the API key, database missing).

Without --url the workflows go to the local database (--database-url, else WF_DATABASE_URL, else
./wf.db), which is migrated first as `wf serve` would; a dry run needs it migrated already.
"""


def add_apply_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `wf workflows apply`, on `parser`."""
    parser.add_argument(
        "-f",
        "--filename",
        dest="paths",
        metavar="PATH",
        type=Path,
        action="append",
        required=True,
        help="a workflow file, or a folder of them; repeat to apply several",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would change (create, update and its fields), write nothing"
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--url", help="a wf server's base URL (http://host:8080); default: the local database")
    target.add_argument(
        "--database-url", help="SQLAlchemy URL of the local database (env WF_DATABASE_URL, default ./wf.db)"
    )
    parser.add_argument("--api-key", help=f"API key sent with --url as X-API-Key (env {API_KEY_ENV})")


def _parser_text() -> dict[str, Any]:
    return {
        "description": DESCRIPTION,
        "epilog": EPILOG,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def register_workflows_command(commands: Any) -> None:
    """Add `workflows apply` to the `wf` sub-commands (`commands`, from `parser.add_subparsers()`)."""
    workflows = commands.add_parser("workflows", help="manage workflows as code (apply)")
    actions = workflows.add_subparsers(dest="workflows_command", required=True, metavar="COMMAND")
    apply = actions.add_parser("apply", help="create or update workflows from YAML/JSON files", **_parser_text())
    add_apply_arguments(apply)
    apply.set_defaults(handler=handle_apply)


def handle_apply(args: argparse.Namespace) -> None:
    """The `wf` handler: applies, and exits with the status when it is not 0."""
    status = apply_command(args, sys.stdout, sys.stderr)
    if status != EXIT_OK:
        raise SystemExit(status)


def run_apply(argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """`wf workflows apply` with the arguments `argv`; returns the exit status.

    Results go to `stdout` and errors to `stderr` (default: the process's); argparse's own help and
    usage errors always go to the process's streams.
    """
    parser = argparse.ArgumentParser(prog=PROG, **_parser_text())
    add_apply_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_FAILED
    return apply_command(args, stdout or sys.stdout, stderr or sys.stderr)


def apply_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """Apply the files `args` name to the store `args` choose; the exit status."""
    report = Report(stdout, stderr, dry_run=args.dry_run)
    try:
        files = [read_workflow_file(found) for path in args.paths for found in workflow_paths(path)]
        if args.url is not None:
            return asyncio.run(_apply_remote(args, files, report))
        if args.api_key is not None:
            return report.fail("--api-key goes with --url")
        return asyncio.run(_apply_local(args, files, report))
    except NoWorkflowFiles as error:
        return report.fail(str(error))
    except SettingsError as error:
        return report.fail(f"bad setting: {error}")


async def _apply_local(args: argparse.Namespace, files: Sequence[WorkflowFile], report: Report) -> int:
    overrides = {"database_url": args.database_url} if args.database_url else None
    settings = load_settings(overrides=overrides)
    try:
        async with open_local_store(settings, dry_run=args.dry_run) as store:
            return await apply_files(store, files, report)
    except StoreUnavailable as error:
        return report.fail(str(error))


async def _apply_remote(args: argparse.Namespace, files: Sequence[WorkflowFile], report: Report) -> int:
    url = URL(args.url)
    if url.scheme not in ("http", "https") or not url.host:
        return report.fail(f"--url must be an http:// or https:// URL such as http://127.0.0.1:8080, not {args.url!r}")
    async with open_http_store(args.url, args.api_key or os.environ.get(API_KEY_ENV)) as store:
        return await apply_files(store, files, report)


async def apply_files(store: WorkflowStore, files: Sequence[WorkflowFile], report: Report) -> int:
    """Apply each of `files` in order to `store`, reporting each; the exit status."""
    applier = Applier(store, dry_run=report.dry_run)
    outcomes: list[Outcome] = []
    for file in files:
        try:
            outcome = await applier.apply(file)
        except StoreUnavailable as error:
            report.summary(outcomes, of=len(files))
            return report.fail(str(error))
        report.outcome(outcome)
        outcomes.append(outcome)
    report.summary(outcomes, of=len(files))
    return EXIT_INVALID if any(outcome.action is Action.INVALID for outcome in outcomes) else EXIT_OK


@attrs.define
class Report:
    """The lines `wf workflows apply` prints: one per file, errors on stderr, then a summary."""

    stdout: TextIO
    stderr: TextIO
    dry_run: bool = False

    def outcome(self, outcome: Outcome) -> None:
        """The line of one file on stdout, or its errors on stderr, one line each."""
        if outcome.action is Action.INVALID:
            for error in outcome.errors:
                print(format_error(outcome.path, error), file=self.stderr)
        else:
            print(self._describe(outcome), file=self.stdout)

    def _describe(self, outcome: Outcome) -> str:
        if outcome.action is Action.UNCHANGED:
            return f"unchanged {outcome.name}"
        if outcome.action is Action.CREATE:
            return (
                f"would create {outcome.name}"
                if self.dry_run
                else f"created {outcome.name} (version {outcome.version})"
            )
        if not self.dry_run:
            return f"updated {outcome.name} (version {outcome.version})"
        changes = outcome.changes
        parts = [
            f"{label} {', '.join(keys)}"
            for label, keys in (("changed", changes.changed), ("added", changes.added), ("removed", changes.removed))
            if keys
        ]
        return f"would update {outcome.name} (version {outcome.previous_version} -> {outcome.version}): " + "; ".join(
            parts
        )

    def summary(self, outcomes: Sequence[Outcome], *, of: int) -> None:
        """The last line: how many of the `of` files ended in each action."""
        totals = count(outcomes)
        files = f"{len(outcomes)} of {of} files" if len(outcomes) < of else f"{of} file{'' if of == 1 else 's'}"
        if self.dry_run:
            line = (
                f"dry run, nothing written; {files}: {totals[Action.CREATE]} to create, "
                f"{totals[Action.UPDATE]} to update, {totals[Action.UNCHANGED]} unchanged, "
                f"{totals[Action.INVALID]} invalid"
            )
        else:
            line = (
                f"{files}: {totals[Action.CREATE]} created, {totals[Action.UPDATE]} updated, "
                f"{totals[Action.UNCHANGED]} unchanged, {totals[Action.INVALID]} invalid"
            )
        print(line, file=self.stdout)

    def fail(self, message: str) -> int:
        """Report a failure that stops everything; the exit status for it."""
        print(f"{PROG}: {message}", file=self.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(run_apply(sys.argv[1:]))
