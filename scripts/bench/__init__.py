"""Helpers of scripts/bench.py (issue 8): paths, workloads, measurements and the final table.

Run the benchmark with `python scripts/bench.py` (or `--quick`); see docs/benchmarks.md.
"""
