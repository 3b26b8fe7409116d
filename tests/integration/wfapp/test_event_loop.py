"""The event loop of `wf` processes: uvloop where it is installed."""

from __future__ import annotations

import asyncio
import sys

import pytest

from wfapp import event_loop


async def _running_loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_wf_processes_run_on_uvloop_where_it_is_installed() -> None:
    pytest.importorskip("uvloop")
    assert event_loop.run(_running_loop_module()).startswith("uvloop")


def test_without_uvloop_they_run_on_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` now raises ImportError
    assert event_loop.run(_running_loop_module()).startswith("asyncio")
