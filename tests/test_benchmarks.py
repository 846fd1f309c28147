"""A smoke test of the benchmark suite: it runs, and prints a row per case. No timings asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_benchmark_suite_runs_on_a_tiny_file() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--rows", "300", "--repeat", "1",
         "--naive-rows", "100"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for case in ("csv_reader", "streamer_dry_run", "streamer_upload", "naive_tutorial"):
        row = next(line for line in lines if line.startswith(case))
        assert len(row.split()) == 5  # case, rows, rows/s, x floor, peak RSS
    assert any(line.startswith("streamer dry run / naive tutorial") for line in lines)
