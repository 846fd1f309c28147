"""Measure streamer against baselines on one seeded messy file.

    python -m benchmarks --rows 100000 --repeat 3

Every case runs in a fresh subprocess (so each peak RSS is its own) several times; the
table shows medians, and each case's ratio to the bare ``csv.reader`` floor measured in
the same run. Cases:

- ``csv.reader``: counting the file's records, the floor no CSV tool can beat;
- ``streamer dry run``: every stage, no upload;
- ``streamer upload``: every stage, uploading to an in-process sandbox without faults;
- ``naive (tutorial)``: the seeds' algorithm, each row fuzzy-compared with every contact
  kept so far, on the first ``--naive-rows`` rows (it is quadratic).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import cases

CASES = ("csv_reader", "streamer_dry_run", "streamer_upload", "naive_tutorial")


def measure(case: str, path: Path, rows_limit: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.cases", case, str(path), str(rows_limit)],
        capture_output=True, text=True, check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the generated file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median shown)")
    parser.add_argument("--naive-rows", type=int, default=3_000,
                        help="rows the quadratic tutorial algorithm gets")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        cases.write_sample(path, args.rows, args.seed)
        size_mb = path.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size_mb:.1f} MB; {args.repeat} runs per case; "
              f"python {sys.version.split()[0]}")
        results: dict[str, dict[str, float]] = {}
        for case in CASES:
            limit = args.naive_rows if case == "naive_tutorial" else 0
            runs = [measure(case, path, limit) for _ in range(args.repeat)]
            results[case] = {
                "rows": runs[0]["rows"],
                "rows_per_s": statistics.median(r["rows"] / r["seconds"] for r in runs),
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            }
        floor = results["csv_reader"]["rows_per_s"]
        print(f"{'case':<20}{'rows':>12}{'rows/s':>14}{'x floor':>10}{'peak RSS MB':>14}")
        for case, r in results.items():
            print(f"{case:<20}{r['rows']:>12,.0f}{r['rows_per_s']:>14,.0f}"
                  f"{r['rows_per_s'] / floor:>10.3f}{r['peak_rss_mb']:>14.1f}")
        ratio = results["streamer_dry_run"]["rows_per_s"] / results["naive_tutorial"]["rows_per_s"]
        print(f"streamer dry run / naive tutorial: {ratio:,.1f}x")


if __name__ == "__main__":
    main()
