"""The CPU time of the processes a benchmark runs, by role, read from /proc (Linux only).

A benchmark whose processes share the machine's cores is bounded by their sum: these figures say which
process a run's CPU goes to, which the wall clock cannot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_seconds(pid: int) -> float:
    """User and system time of a process and of its children it has reaped; 0 once it is gone.

    The children's share matters for PostgreSQL, whose postmaster reaps the backends that exit.
    """
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    utime_to_cstime = fields[11:15]
    return sum(int(field) for field in utime_to_cstime) / CLOCK_TICKS


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: fields are counted after its closing one.
    return stat.rsplit(")", 1)[1].split()


def tree_seconds(root: int) -> float:
    """The CPU time of a process and of its children, those alive and those it has reaped (a PostgreSQL
    postmaster and its backends)."""
    total = process_seconds(root)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[1] == str(root):
                total += process_seconds(int(entry.name))
    return total


def named_processes_seconds(command: str) -> float:
    """The CPU time of every process whose command name is `command` (every PostgreSQL backend, say)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name == command:
            total += process_seconds(int(entry.name))
    return total


def own_seconds() -> float:
    times = os.times()
    return times.user + times.system


def spent_between(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {role: after[role] - before.get(role, 0.0) for role in after}
