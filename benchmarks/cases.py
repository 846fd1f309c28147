"""One benchmark case per process: ``python -m benchmarks.cases CASE FILE LIMIT``.

Prints one JSON line: rows handled, seconds, and the process's peak RSS in MB.
"""

from __future__ import annotations

import csv
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from examples.make_contacts import contacts


def write_sample(path: Path, rows: int, seed: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        for record in contacts(rows, seed):
            if record:
                writer.writerow(record)
            else:
                file.write("\r\n")


def csv_reader(path: Path, limit: int) -> int:
    with open(path, encoding="utf-8", newline="") as file:
        return sum(1 for fields in csv.reader(file) if fields) - 1


def _streamer(path: Path, *, dry_run: bool) -> int:
    import streamer

    async def go() -> int:
        with tempfile.TemporaryDirectory() as out:
            if dry_run:
                settings = streamer.Settings(out_dir=Path(out), dry_run=True)
                report = await streamer.run(path, settings)
            else:
                async with streamer.Sandbox() as sandbox:
                    settings = streamer.Settings(out_dir=Path(out),
                                                 credentials=sandbox.credentials)
                    report = await streamer.run(path, settings)
            assert report.balanced
            return report.rows_read

    return anyio.run(go, backend="asyncio")


def streamer_dry_run(path: Path, limit: int) -> int:
    return _streamer(path, dry_run=True)


def streamer_upload(path: Path, limit: int) -> int:
    return _streamer(path, dry_run=False)


def naive_tutorial(path: Path, limit: int) -> int:
    """The seeds' approach: normalise row by row, fuzzy-compare with every kept contact."""
    import phonenumbers
    from rapidfuzz import fuzz

    kept: list[tuple[str, str]] = []
    rows = 0
    with open(path, encoding="utf-8", newline="") as file:
        for record in csv.DictReader(file):
            if rows >= limit:
                break
            rows += 1
            try:
                number = phonenumbers.parse(record["Phone Number"] or "", "US")
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(number):
                continue
            phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            email = (record["E-mail"] or "").strip().lower()
            if any(phone == p or (email and fuzz.ratio(email, e) > 90) for p, e in kept):
                continue
            kept.append((phone, email))
    return rows


CASES: dict[str, Callable[[Path, int], int]] = {
    "csv_reader": csv_reader,
    "streamer_dry_run": streamer_dry_run,
    "streamer_upload": streamer_upload,
    "naive_tutorial": naive_tutorial,
}


def main() -> None:
    case, path, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    started = time.perf_counter()
    rows = CASES[case](path, limit)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak_kb / 1024}))


if __name__ == "__main__":
    main()
