"""Measure streamer against baselines on one seeded messy file, all in one run.

The file is the data-quality generator's (examples/messy.py): names, phones and emails
in every format people type them, typos, repeats and namesakes.

    python -m benchmarks --rows 1000000 --repeat 3 --json bench.json

Every case runs in a fresh subprocess (so each peak RSS is its own, plus its worker
processes' peaks where it has any), ``--repeat`` times;
the table shows medians, the ratio to the bare ``csv.reader`` floor and to the pandas
baseline measured in the same run, on the same file:

- ``csv_reader``: counting the file's records, the floor no CSV tool can beat;
- ``streamer_dry_run``: every stage, no upload;
- ``streamer_upload``: every stage, uploading to an in-process sandbox without faults;
- ``pandas_baseline``: what users write today (read_csv, phonenumbers per row, drop
  exact duplicates);
- ``naive_tutorial``: the seeds' algorithm, each row fuzzy-compared with every contact
  kept so far, on the first ``--naive-rows`` rows, extrapolated (quadratically) to N;
- ``stage_*``: each stage alone over the whole file (reader, normalise, rules, dedup,
  CSV + base64 encoding of upload files).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from examples.messy import HEADER, generate

END_TO_END = ("csv_reader", "streamer_dry_run", "streamer_dry_run_12_fields",
              "streamer_upload", "pandas_baseline", "naive_tutorial")
STAGES = ("stage_reader", "stage_normalize", "stage_rules", "stage_dedup", "stage_encode")


def write_messy(path: Path, rows: int, seed: int) -> None:
    """The first ``rows`` rows of the data-quality generator's file (examples/messy.py):
    every phone and email valid, so every row reaches dedup, a quarter of them repeats."""
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        # More people than rows: the generator repeats people, so rows come first.
        for _, (fields, _person) in zip(range(rows), generate(rows, seed), strict=False):
            writer.writerow(fields)


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
    parser.add_argument("--no-stages", action="store_true", help="skip the per-stage cases")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["streamer_upload", "streamer_dry_run_12_fields"],
                        help="end-to-end cases to leave out, e.g. streamer_upload at 10M rows "
                        "(the in-process sandbox would hold the whole list in its memory) "
                        "or the twelve-field dry run (it writes a second, wider file)")
    parser.add_argument("--json", type=Path, help="also write the results here, as JSON")
    parser.add_argument("--file", type=Path, help="an earlier generated file of --rows rows "
                        "to use instead of writing one (10M rows take minutes to make)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file or Path(tmp) / "contacts.csv"
        if args.file is None:
            write_messy(path, args.rows, args.seed)
        size_mb = path.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size_mb:.1f} MB; {args.repeat} runs per case; "
              f"python {sys.version.split()[0]} on {platform.machine()}, "
              f"{platform.system()} {platform.release()}")
        results: dict[str, dict[str, float]] = {}
        cases = [case for case in END_TO_END if case not in args.skip]
        for case in cases + ([] if args.no_stages else list(STAGES)):
            limit = args.naive_rows if case == "naive_tutorial" else 0
            runs = [measure(case, path, limit) for _ in range(args.repeat)]
            rows = runs[0]["rows"]
            seconds = statistics.median(r["seconds"] for r in runs)
            if case == "naive_tutorial":
                # Quadratic: the time at N is the sample's time times (N / sample) squared.
                seconds *= (args.rows / rows) ** 2
                rows = args.rows
            results[case] = {
                "rows": rows, "seconds": seconds, "rows_per_s": rows / seconds,
                # The main process and its workers (dedup's index lives in the worker
                # when there is one): their peaks added, so at worst an overstatement.
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] + r["workers_peak_rss_mb"]
                                                 for r in runs),
                "main_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            }
    floor = results["csv_reader"]["rows_per_s"]
    pandas = results["pandas_baseline"]["rows_per_s"]
    print(f"{'case':<28}{'rows':>11}{'rows/s':>12}{'x floor':>9}{'x pandas':>10}"
          f"{'peak RSS MB':>13}")
    for case, r in results.items():
        r["x_floor"], r["x_pandas"] = r["rows_per_s"] / floor, r["rows_per_s"] / pandas
        note = " (extrapolated)" if case == "naive_tutorial" else ""
        print(f"{case:<28}{r['rows']:>11,.0f}{r['rows_per_s']:>12,.0f}{r['x_floor']:>9.3f}"
              f"{r['x_pandas']:>10.2f}{r['peak_rss_mb']:>13.1f}{note}")
    ratio = results["streamer_dry_run"]["rows_per_s"] / results["naive_tutorial"]["rows_per_s"]
    print(f"streamer dry run / naive tutorial: {ratio:,.1f}x")
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "repeat": args.repeat,
                                         "results": results}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
