"""`wf workflows apply` on each store: the local database, and a live server on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from integration.cli.applying import (
    EXAMPLE_NAMES,
    apply,
    latest_versions,
    load_yaml,
    version,
    write_yaml,
)
from integration.cli.conftest import ApplyTarget


async def test_the_first_apply_creates_every_example_and_the_second_changes_nothing(
    target: ApplyTarget, workflows_dir: Path
) -> None:
    first = await apply("-f", workflows_dir, *target.argv)
    assert (first.status, first.stderr) == (0, "")
    assert first.lines == [
        *(f"created {name} (version 1)" for name in EXAMPLE_NAMES),
        "3 files: 3 created, 0 updated, 0 unchanged, 0 invalid",
    ]
    stored = await latest_versions(target.catalog)
    assert sorted(stored) == EXAMPLE_NAMES
    for name, saved in stored.items():
        assert saved.version == 1
        assert saved.document == load_yaml(workflows_dir / f"{name}.yaml")

    second = await apply("-f", workflows_dir, *target.argv)
    assert (second.status, second.stderr) == (0, "")
    assert second.lines == [
        *(f"unchanged {name}" for name in EXAMPLE_NAMES),
        "3 files: 0 created, 0 updated, 3 unchanged, 0 invalid",
    ]
    assert {name: saved.version for name, saved in (await latest_versions(target.catalog)).items()} == dict.fromkeys(
        EXAMPLE_NAMES, 1
    )


async def test_only_the_edited_file_gets_a_new_version(target: ApplyTarget, workflows_dir: Path) -> None:
    assert (await apply("-f", workflows_dir, *target.argv)).status == 0
    path = workflows_dir / "triage-ticket.yaml"
    original = load_yaml(path)
    edited = {**original, "description": "Triage a ticket, now with a changed description"}
    write_yaml(path, edited)

    applied = await apply("-f", workflows_dir, *target.argv)

    assert (applied.status, applied.stderr) == (0, "")
    assert applied.lines == [
        "unchanged nightly-report",
        "updated triage-ticket (version 2)",
        "unchanged welcome-user",
        "3 files: 0 created, 1 updated, 2 unchanged, 0 invalid",
    ]
    stored = await latest_versions(target.catalog)
    assert {name: saved.version for name, saved in stored.items()} == {
        "nightly-report": 1,
        "triage-ticket": 2,
        "welcome-user": 1,
    }
    assert stored["triage-ticket"].document == edited
    assert (await version(target.catalog, stored["triage-ticket"].workflow_id, 1)).document == original


async def test_a_dry_run_says_what_would_change_and_writes_nothing(target: ApplyTarget, workflows_dir: Path) -> None:
    assert (await apply("-f", workflows_dir, *target.argv)).status == 0
    before = await latest_versions(target.catalog)
    triage = load_yaml(workflows_dir / "triage-ticket.yaml")
    del triage["output"]
    write_yaml(workflows_dir / "triage-ticket.yaml", {**triage, "description": "new words", "status": "inactive"})
    write_yaml(workflows_dir / "a-new-one.yaml", {"name": "a-new-one", "steps": [{"id": "only", "agent": "echo"}]})
    write_yaml(workflows_dir / "b-unknown-agent.yaml", {"name": "b", "steps": [{"id": "only", "agent": "nobody"}]})

    planned = await apply("-f", workflows_dir, "--dry-run", *target.argv)

    assert planned.status == 1
    assert planned.lines == [
        "would create a-new-one",
        "unchanged nightly-report",
        "would update triage-ticket (version 1 -> 2): changed description, status; removed output",
        "unchanged welcome-user",
        "dry run, nothing written; 5 files: 1 to create, 1 to update, 2 unchanged, 1 invalid",
    ]
    # A dry run checks what only the store can tell, such as the agents.
    assert planned.errors == [f"{workflows_dir / 'b-unknown-agent.yaml'}: steps[0].agent: unknown agent 'nobody'"]
    assert await latest_versions(target.catalog) == before


async def test_an_invalid_file_is_named_with_the_place_and_the_valid_ones_are_still_applied(
    target: ApplyTarget, workflows_dir: Path
) -> None:
    broken = workflows_dir / "broken.yaml"
    write_yaml(
        broken,
        {
            "name": "broken",
            "steps": [
                {"id": "first", "agent": "echo"},
                {"id": "second", "agent": "echo", "depends_on": ["first"]},
                {"id": "third", "agent": "echo", "depends_on": ["second", "x"]},
            ],
        },
    )

    applied = await apply("-f", workflows_dir, *target.argv)

    assert applied.status == 1
    assert applied.errors == [f"{broken}: steps[2].depends_on[1]: unknown step 'x'"]
    assert applied.lines[-1] == "4 files: 3 created, 0 updated, 0 unchanged, 1 invalid"
    assert sorted(await latest_versions(target.catalog)) == EXAMPLE_NAMES
