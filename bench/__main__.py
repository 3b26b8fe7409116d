"""`python -m bench NAME [options]`: run the benchmark in `bench/NAME.py` (its `main(argv)`)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

import bench

Main = Callable[[Sequence[str]], int]


def benchmarks() -> dict[str, ModuleType]:
    """Every module of this package with a `main(argv)` function, by name."""
    found = {}
    for module_info in pkgutil.iter_modules(bench.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        if callable(getattr(module, "main", None)):
            found[module_info.name] = module
    return found


def usage(available: dict[str, ModuleType]) -> str:
    lines = ["usage: python -m bench NAME [options]   (python -m bench NAME --help for its options)", "", "benchmarks:"]
    for name, module in sorted(available.items()):
        summary = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        lines.append(f"  {name:<12} {summary}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    available = benchmarks()
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(available))
        return 0 if argv else 2
    name, *rest = argv
    if name not in available:
        print(f"unknown benchmark {name!r}\n\n{usage(available)}", file=sys.stderr)
        return 2
    run: Main = available[name].main
    return run(rest)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
