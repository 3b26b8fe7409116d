"""docs/configuration.md lists every setting as the settings classes define it."""

from pathlib import Path

from wfapp.settings_doc import tables

DOC = Path(__file__).parents[3] / "docs" / "configuration.md"


def test_the_configuration_page_holds_the_generated_tables() -> None:
    page = DOC.read_text()
    for name, table in tables().items():
        assert table in page, (
            f"docs/configuration.md is out of date ({name}): regenerate with python -m wfapp.settings_doc"
        )
