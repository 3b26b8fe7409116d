"""Reading workflow files: what is refused, and how a place in a document is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.cli.applying import apply, write_yaml
from integration.cli.conftest import ApplyTarget
from wfapp.apply_documents import NoWorkflowFiles, format_loc, read_workflow_file, workflow_paths

ONE_STEP = "name: ok\nsteps:\n  - {id: only, agent: echo}\n"


@pytest.mark.parametrize(
    ("filename", "text", "message"),
    [
        ("list.yaml", "- name: a\n- name: b\n", "must hold one workflow, a mapping of its fields, not a list"),
        (
            "scalar.yaml",
            "just some words\n",
            "must hold one workflow, a mapping of its fields, not a single value (str)",
        ),
        ("number.json", "42", "must hold one workflow, a mapping of its fields, not a single value (int)"),
        ("empty.yml", "", "must hold one workflow, a mapping of its fields, not an empty document"),
        (
            "two.yaml",
            ONE_STEP + "---\n" + ONE_STEP,
            "line 4, column 1: expected a single document in the stream, but found another document",
        ),
        (
            "bad.yaml",
            "name: [unclosed\n",
            "line 2, column 1: while parsing a flow sequence, expected ',' or ']', but got '<stream end>'",
        ),
        ("bad.json", '{"name": "x",}', "line 1, column 14: Expecting property name enclosed in double quotes"),
    ],
)
def test_a_file_that_is_not_one_mapping_is_refused_naming_what_it_is(
    tmp_path: Path, filename: str, text: str, message: str
) -> None:
    path = tmp_path / filename
    path.write_text(text)
    read = read_workflow_file(path)
    assert read.document is None
    assert [error.msg for error in read.errors] == [message]
    assert [error.loc for error in read.errors] == [()]


def test_what_yaml_reads_but_json_cannot_hold_is_refused_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "dates.yaml"
    path.write_text(
        "name: dated\n"
        "steps:\n"
        "  - id: only\n"
        "    agent: echo\n"
        "    input: {day: 2024-05-01, limit: .inf, 3: three}\n"
        "on: push\n"
    )
    read = read_workflow_file(path)
    assert read.document is None
    assert [(format_loc(error.loc), error.msg) for error in read.errors] == [
        ("steps[0].input.day", "was read as a date (2024-05-01); quote it to keep it text"),
        ("steps[0].input.limit", "inf is not a JSON number"),
        ("steps[0].input", "key 3 was read as int, but keys must be strings; quote it"),
        ("", "key True was read as bool, but keys must be strings; quote it"),
    ]


def test_yaml_and_json_files_read_the_same_document(tmp_path: Path) -> None:
    yaml_file = tmp_path / "a.yaml"
    yaml_file.write_text(ONE_STEP)
    json_file = tmp_path / "a.json"
    json_file.write_text('{"name": "ok", "steps": [{"id": "only", "agent": "echo"}]}')
    assert read_workflow_file(yaml_file).document == read_workflow_file(json_file).document
    assert read_workflow_file(yaml_file).document == {"name": "ok", "steps": [{"id": "only", "agent": "echo"}]}


def test_a_folder_gives_its_workflow_files_in_name_order_and_nothing_else(tmp_path: Path) -> None:
    for name in ("b.yml", "a.json", "c.yaml", "notes.txt", "README.md"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "d.yaml").write_text("{}")
    assert [path.name for path in workflow_paths(tmp_path)] == ["a.json", "b.yml", "c.yaml"]
    assert workflow_paths(tmp_path / "notes.txt") == [tmp_path / "notes.txt"]
    with pytest.raises(NoWorkflowFiles, match="no such file or folder"):
        workflow_paths(tmp_path / "missing")
    (tmp_path / "nested" / "d.yaml").unlink()
    (tmp_path / "nested" / "notes.txt").write_text("{}")
    with pytest.raises(NoWorkflowFiles, match=r"nested: no \*\.yaml, \*\.yml, \*\.json file in this folder"):
        workflow_paths(tmp_path / "nested")


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        (("steps", 2, "depends_on", 0), "steps[2].depends_on[0]"),
        (("name",), "name"),
        (("input_schema", "$schema"), "input_schema.$schema"),
        (("steps", 0, "input", "a key"), 'steps[0].input["a key"]'),
        ((3,), "[3]"),
        ((), ""),
    ],
)
def test_a_place_is_named_as_a_path_into_the_document(loc: tuple[str | int, ...], text: str) -> None:
    assert format_loc(loc) == text


async def test_a_list_and_a_scalar_are_errors_of_the_command_naming_their_files(
    local_target: ApplyTarget, tmp_path: Path
) -> None:
    (tmp_path / "a-list.yaml").write_text("- name: a\n")
    (tmp_path / "b-scalar.yaml").write_text("hello\n")
    write_yaml(tmp_path / "c-fine.yaml", {"name": "fine", "steps": [{"id": "only", "agent": "echo"}]})

    applied = await apply("-f", tmp_path, *local_target.argv)

    assert applied.status == 1
    assert applied.errors == [
        f"{tmp_path / 'a-list.yaml'}: must hold one workflow, a mapping of its fields, not a list",
        f"{tmp_path / 'b-scalar.yaml'}: must hold one workflow, a mapping of its fields, not a single value (str)",
    ]
    assert applied.lines == ["created fine (version 1)", "3 files: 1 created, 0 updated, 0 unchanged, 2 invalid"]
