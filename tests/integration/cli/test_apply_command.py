"""`wf workflows apply` as a command: options, exit statuses, status and number semantics, API keys."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from aiohttp.test_utils import unused_port

from integration.cli.applying import EXAMPLE_NAMES, apply, latest_versions, write_yaml
from integration.cli.conftest import ApplyTarget, live_server
from wfapp.apply import handle_apply, register_workflows_command, run_apply
from wfapp.apply_plan import KeyChanges, key_changes
from wfapp.settings import Settings

ONE_STEP = {"name": "single", "steps": [{"id": "only", "agent": "echo", "input": {"n": 1}}]}
API_KEY = "ci-key-0123456789abcdef"


def test_help_says_what_is_compared_and_what_the_exit_status_means(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_apply(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "usage: wf workflows apply [-h] -f PATH [--dry-run]" in text
    assert "the valid files are still applied (in a dry run, nothing is)" in text
    assert "0 when every file was applied or unchanged, 1 when any file is invalid, 2 when" in text
    assert "a file without `status` means `status: active`" in text


def test_the_wf_command_reaches_apply_through_its_handler(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="wf")
    register_workflows_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["workflows", "apply", "-f", str(tmp_path / "nothing-here"), "--dry-run"])
    assert args.handler is handle_apply
    assert (args.paths, args.dry_run, args.url) == ([tmp_path / "nothing-here"], True, None)
    with pytest.raises(SystemExit) as exited:
        args.handler(args)
    assert exited.value.code == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-f", "{tmp}/missing"], "{tmp}/missing: no such file or folder"),
        (["-f", "{tmp}", "--api-key", API_KEY], "--api-key goes with --url"),
        (["-f", "{tmp}", "--url", "ftp://example.com"], "--url must be an http:// or https:// URL"),
        (["-f", "{tmp}", "--database-url", "mysql://db"], "bad setting: --database-url='mysql://db': must be a"),
        (["-f", "{tmp}", "--dry-run", "--database-url", "sqlite+aiosqlite:///{tmp}/new.db"], "no database at"),
        (["-f", "{tmp}", "--database-url", "postgresql+asyncpg://wf@127.0.0.1:{port}/wf"], "cannot open the database"),
        (["-f", "{tmp}", "--dry-run", "--database-url", "postgresql+asyncpg://wf@127.0.0.1:{port}/wf"], "cannot open"),
    ],
)
async def test_what_stops_the_command_before_any_file_is_applied_exits_2(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    write_yaml(tmp_path / "single.yaml", ONE_STEP)
    applied = await apply(*(arg.format(tmp=tmp_path, port=unused_port()) for arg in argv))
    assert applied.status == 2
    assert applied.errors[-1].startswith(f"wf workflows apply: {message.format(tmp=tmp_path)}")
    assert not (tmp_path / "new.db").exists()


def test_usage_errors_exit_2_as_argparse_does(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_apply([]) == 2
    assert run_apply(["-f", "x", "--url", "http://a", "--database-url", "sqlite+aiosqlite:///b"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


async def test_a_dry_run_refuses_a_database_without_a_schema(tmp_path: Path) -> None:
    (tmp_path / "empty.db").write_bytes(b"")
    write_yaml(tmp_path / "single.yaml", ONE_STEP)
    applied = await apply(
        "-f", tmp_path / "single.yaml", "--dry-run", "--database-url", f"sqlite+aiosqlite:///{tmp_path}/empty.db"
    )
    assert applied.status == 2
    assert applied.errors == [
        "wf workflows apply: the database has no schema yet: run `wf migrate` first, or apply without --dry-run"
    ]
    assert (tmp_path / "empty.db").read_bytes() == b""


async def test_a_new_database_is_migrated_first_as_wf_serve_would(tmp_path: Path) -> None:
    write_yaml(tmp_path / "single.yaml", ONE_STEP)
    applied = await apply("-f", tmp_path / "single.yaml", "--database-url", f"sqlite+aiosqlite:///{tmp_path}/new.db")
    # The schema is there (the agent lookup ran), but no agent was ever registered in it.
    assert applied.status == 1
    assert applied.errors == [f"{tmp_path / 'single.yaml'}: steps[0].agent: unknown agent 'echo'"]


async def test_the_same_name_in_two_files_is_refused_in_the_second(local_target: ApplyTarget, tmp_path: Path) -> None:
    first = write_yaml(tmp_path / "a.yaml", ONE_STEP)
    second = write_yaml(tmp_path / "b.yaml", {**ONE_STEP, "description": "another take"})
    applied = await apply("-f", tmp_path, *local_target.argv)
    assert applied.status == 1
    assert applied.errors == [f"{second}: name: {first} defines the workflow 'single' already"]
    assert (await latest_versions(local_target.catalog))["single"].document == ONE_STEP


async def test_status_is_part_of_the_definition_and_active_when_left_out(
    local_target: ApplyTarget, tmp_path: Path
) -> None:
    path = write_yaml(tmp_path / "single.yaml", ONE_STEP)
    assert (await apply("-f", path, *local_target.argv)).lines[0] == "created single (version 1)"
    write_yaml(path, {**ONE_STEP, "status": "active"})
    assert (await apply("-f", path, *local_target.argv)).lines[0] == "unchanged single"
    write_yaml(path, {**ONE_STEP, "status": "inactive"})
    assert (await apply("-f", path, *local_target.argv)).lines[0] == "updated single (version 2)"
    write_yaml(path, ONE_STEP)
    assert (await apply("-f", path, *local_target.argv)).lines[0] == "updated single (version 3)"
    stored = (await latest_versions(local_target.catalog))["single"]
    assert (stored.document, stored.definition.status) == (ONE_STEP, "active")


def test_documents_are_compared_as_json_values() -> None:
    stored = {**ONE_STEP, "id": "0190d3a8-0000-7000-8000-000000000000", "version": 4, "status": "active"}
    stored |= {"created_at": "2025-01-01T00:00:00Z", "created_by": "ada", "updated_at": "2025-01-02T00:00:00Z"}
    assert not key_changes(stored, ONE_STEP)
    same_number = {**ONE_STEP, "steps": [{"id": "only", "agent": "echo", "input": {"n": 1.0}}]}
    assert not key_changes(stored, same_number)
    a_boolean = {**ONE_STEP, "steps": [{"id": "only", "agent": "echo", "input": {"n": True}}]}
    assert key_changes(stored, a_boolean) == KeyChanges(changed=("steps",))
    reordered = {"steps": ONE_STEP["steps"], "name": "single", "output": None}
    assert key_changes(stored, reordered) == KeyChanges(added=("output",))
    assert key_changes({**stored, "description": "x"}, {**ONE_STEP, "status": "inactive"}) == KeyChanges(
        removed=("description",), changed=("status",)
    )


async def test_a_server_that_wants_an_api_key_gets_it_from_the_flag_or_wf_api_key(
    migrated_sqlite_url: str, workflows_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_url=migrated_sqlite_url, api_keys={"ci": API_KEY})
    async with live_server(settings) as server:
        refused = await apply("-f", workflows_dir, *server.argv)
        assert refused.status == 2
        assert refused.errors[-1].startswith("wf workflows apply: http://127.0.0.1:")
        assert "refused the request (401)" in refused.errors[-1]
        assert refused.errors[-1].endswith("pass --api-key or set WF_API_KEY")
        assert refused.lines == ["0 of 3 files: 0 created, 0 updated, 0 unchanged, 0 invalid"]

        with_flag = await apply("-f", workflows_dir / "welcome-user.yaml", *server.argv, "--api-key", API_KEY)
        assert (with_flag.status, with_flag.lines[0]) == (0, "created welcome-user (version 1)")

        monkeypatch.setenv("WF_API_KEY", API_KEY)
        from_env = await apply("-f", workflows_dir, *server.argv)
        assert from_env.status == 0, from_env.stderr
        assert from_env.lines[:3] == [
            "created nightly-report (version 1)",
            "created triage-ticket (version 1)",
            "unchanged welcome-user",
        ]
        assert sorted(await latest_versions(server.catalog)) == EXAMPLE_NAMES


async def test_a_server_that_is_not_there_stops_the_command(workflows_dir: Path) -> None:
    applied = await apply("-f", workflows_dir, "--url", f"http://127.0.0.1:{unused_port()}")
    assert applied.status == 2
    assert applied.errors[-1].startswith("wf workflows apply: cannot reach http://127.0.0.1:")
    assert applied.lines == ["0 of 3 files: 0 created, 0 updated, 0 unchanged, 0 invalid"]
