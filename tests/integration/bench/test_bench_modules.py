"""Every benchmark imports and answers --help, so that one broken by a change is noticed by the build.

The benchmarks themselves are not run here: they measure, and tests do not depend on speed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


def run_module(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("bench", *args)


def test_the_listing_names_every_benchmark() -> None:
    listing = run_bench("--help")
    assert listing.returncode == 0, listing.stderr
    for name in ("api", "distributed", "engine", "validate"):
        assert f"  {name} " in listing.stdout


@pytest.mark.parametrize("name", ["api", "distributed", "engine", "validate"])
def test_each_benchmark_answers_help(name: str) -> None:
    answer = run_bench(name, "--help")
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith(f"usage: python -m bench {name}")


def test_the_baseline_server_imports() -> None:
    answer = run_module("bench._baseline_server", "--help")
    assert answer.returncode == 0, answer.stderr
