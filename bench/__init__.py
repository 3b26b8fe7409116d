"""Benchmarks of wf: `python -m bench NAME [options]`, one module `bench/NAME.py` each.

A benchmark measures and reports, with the ratio of its figures to a target; it always exits 0.
Tests assert, benchmarks report: no test depends on a speed.
"""
