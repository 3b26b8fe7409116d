"""The library's public names are a promise: changing them is a deliberate act that changes this test."""

import wfapp
import wfapp.testing


def test_the_facade_exports_exactly_these_names() -> None:
    assert sorted(wfapp.__all__) == ["Settings", "SettingsError", "WorkflowService", "__version__", "load_settings"]
    for name in wfapp.__all__:
        assert getattr(wfapp, name) is not None


def test_the_test_harness_exports_exactly_these_names() -> None:
    assert sorted(wfapp.testing.__all__) == ["AgentCall", "AgentFailure", "RunResult", "WorkflowTestHarness"]
