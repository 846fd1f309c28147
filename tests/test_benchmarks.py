"""A smoke test of the benchmark suite: it runs, and prints a row per case. No timings asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_benchmark_suite_runs_on_a_tiny_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--rows", "300", "--repeat", "1",
         "--naive-rows", "100", "--json", str(tmp_path / "bench.json")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    cases = ("csv_reader", "streamer_dry_run", "streamer_dry_run_12_fields", "streamer_upload",
             "pandas_baseline",
             "naive_tutorial", "stage_reader", "stage_normalize", "stage_rules",
             "stage_dedup", "stage_encode")
    for case in cases:
        row = next(line for line in lines if line.startswith(case + " "))
        assert len(row.split()) >= 6  # case, rows, rows/s, x floor, x pandas, peak RSS
    results = json.loads((tmp_path / "bench.json").read_text())["results"]
    assert set(results) == set(cases)
    assert results["csv_reader"]["x_floor"] == 1.0
    assert any(line.startswith("streamer dry run / naive tutorial") for line in lines)


def test_the_goodput_benchmark_runs_against_a_rate_limited_sandbox() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.goodput", "--rows", "3000", "--batch-size", "100",
         "--rate-limit", "40", "--latency-ms", "20", "--repeat", "1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("rate limit 40 uploads/s x 100 rows = 4,000 rows/s allowed")
    for key in ("rows_per_s", "goodput", "share_429", "requests", "peak_concurrency"):
        assert any(line.split()[0] == key for line in lines[1:]), key


def test_the_dedup_scaling_benchmark_runs_on_both_data_sets() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.dedup_scaling", "--sizes", "500", "1000"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    for data in ("messy", "synthetic"):
        assert data in done.stdout
    assert done.stdout.count("time(1,000) / time(500) = ") == 2


def test_the_workbook_benchmark_reads_every_row_with_each_library(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.xlsx_reading", "--sizes", "300", "--dir",
         str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines()
            if not line.startswith(("#", "case"))}
    # The raw readers count the header row too; streamer's sources count records.
    assert rows == {"csv_reader": "301", "calamine": "301", "openpyxl": "301",
                    "streamer_xlsx": "300", "streamer_csv": "300"}
