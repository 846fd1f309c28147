"""One benchmark case per process: ``python -m benchmarks.cases CASE FILE LIMIT``.

Prints one JSON line: rows handled, seconds, and the process's peak RSS in MB. Each case
runs in a fresh process so that its peak RSS is its own.
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


def csv_reader(path: Path, limit: int) -> int:
    """The floor: no CSV tool can read a file faster than this."""
    with open(path, encoding="utf-8", newline="") as file:
        return sum(1 for fields in csv.reader(file) if fields) - 1


def _streamer(path: Path, *, dry_run: bool, **options: object) -> int:
    import streamer

    async def go() -> int:
        with tempfile.TemporaryDirectory() as out:
            if dry_run:
                settings = streamer.Settings(out_dir=Path(out), dry_run=True,
                                             **options)  # type: ignore[arg-type]
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


#: The generated file's columns plus these, for a campaign that maps twelve list fields.
_MORE_COLUMNS = ("Home Phone", "Street", "City", "State", "ZIP", "Time Zone", "Score",
                 "Balance", "Segment")
TWELVE_FIELDS = (
    ("FirstName", ("First Name",)), ("LastName", ("Last Name",)),
    ("PhoneNumber", ("Phone Number", "Home Phone")), ("Email", ("E-mail",)),
    ("Address", ("Street",)), ("City", ("City",)), ("State", ("State",)), ("Zip", ("ZIP",)),
    ("TimeZone", ("Time Zone",)), ("Score", ("Score",)), ("custom:Balance", ("Balance",)),
    ("custom:Segment", ("Segment",)))


def streamer_dry_run_12_fields(path: Path, limit: int) -> int:
    """The dry run of a campaign mapping twelve list fields (the file gains the columns
    first, untimed): two phone columns, an address, a time zone, a score, custom data."""
    global _STAGE_STARTED
    with tempfile.TemporaryDirectory() as tmp:
        wider = Path(tmp) / "wider.csv"
        write_wider(path, wider)
        _STAGE_STARTED = time.perf_counter()
        return _streamer(wider, dry_run=True, field_map=TWELVE_FIELDS)


def write_wider(path: Path, wider: Path) -> None:
    """``path`` with the columns :data:`TWELVE_FIELDS` maps, as ``wider``."""
    zones = ("Eastern", "Central", "Mountain", "Pacific", "")
    with open(path, encoding="utf-8", newline="") as source, \
            open(wider, "w", encoding="utf-8", newline="") as target:
        writer = csv.writer(target)
        for number, fields in enumerate(csv.reader(source)):
            writer.writerow([*fields, *_MORE_COLUMNS] if number == 0 else [
                *fields, f"+1 212 555 {number % 10_000:04d}", f"{number} Main St",
                "Springfield", "MA", f"{number % 100_000:05d}", zones[number % 5],
                str(number % 100), f"{number % 9_999:,}.50", "Segment ä"])


def streamer_upload(path: Path, limit: int) -> int:
    return _streamer(path, dry_run=False)


def pandas_baseline(path: Path, limit: int) -> int:
    """What users write today: pandas, phonenumbers row by row, drop exact duplicates."""
    import pandas as pd
    import phonenumbers

    def e164(raw: object) -> str | None:
        try:
            number = phonenumbers.parse(str(raw), "US")
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["phone"] = frame["Phone Number"].map(e164)
    frame["email"] = frame["E-mail"].str.strip().str.lower()
    kept = frame.dropna(subset=["phone"]).drop_duplicates(subset=["phone"])
    kept = kept[(kept["email"] == "") | ~kept.duplicated(subset=["email"])]
    return len(frame)


def naive_tutorial(path: Path, limit: int) -> int:
    """The seeds' approach: normalise row by row, fuzzy-compare with every kept contact.

    Quadratic, so it gets the first ``limit`` rows only; the table extrapolates."""
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


def _stage_rows(path: Path) -> tuple[list[list[object]], object]:
    """The file's rows read by streamer's reader (not timed), and the column map."""
    import streamer
    from streamer.input import CsvSource

    async def read() -> tuple[list[list[object]], object]:
        async with CsvSource(path, streamer.Settings()) as source:
            return [batch async for batch in source.batches()], source.columns

    return anyio.run(read, backend="asyncio")  # type: ignore[return-value]


def stage_reader(path: Path, limit: int) -> int:
    """streamer's reader alone: blocks decoded, csv.reader, Row objects, thread hops."""
    import streamer
    from streamer.input import CsvSource

    async def read() -> int:
        async with CsvSource(path, streamer.Settings()) as source:
            async for _ in source.batches():
                pass
            return source.rows_read

    return anyio.run(read, backend="asyncio")


def _timed_stage(path: Path, work: Callable[[list[object], object], None]) -> int:
    batches, columns = _stage_rows(path)
    global _STAGE_STARTED
    _STAGE_STARTED = time.perf_counter()
    for batch in batches:
        work(batch, columns)  # type: ignore[arg-type]
    return sum(len(b) for b in batches)


def stage_normalize(path: Path, limit: int) -> int:
    from streamer.cleaning._normalize import NormalizeRules, normalize_batch

    return _timed_stage(path, lambda batch, columns: normalize_batch(
        batch, NormalizeRules(columns, "US")))  # type: ignore[arg-type]


def _normalized(path: Path) -> tuple[list[list[object]], object]:
    from streamer.cleaning._normalize import NormalizeRules, normalize_batch

    batches, columns = _stage_rows(path)
    rules = NormalizeRules(columns, "US")  # type: ignore[arg-type]
    for batch in batches:
        normalize_batch(batch, rules)  # type: ignore[arg-type]
    return batches, columns


def stage_rules(path: Path, limit: int) -> int:
    from streamer.cleaning import CampaignRules

    batches, columns = _normalized(path)
    rules = CampaignRules(columns, max_record_chars=512)  # type: ignore[arg-type]
    global _STAGE_STARTED
    _STAGE_STARTED = time.perf_counter()
    for batch in batches:
        rules.apply(batch)  # type: ignore[arg-type]
    return sum(len(b) for b in batches)


def stage_dedup(path: Path, limit: int) -> int:
    from streamer.cleaning import CampaignRules
    from streamer.cleaning.dedup import Dedup
    from streamer.settings import FuzzySettings

    batches, columns = _normalized(path)
    rules = CampaignRules(columns, max_record_chars=512)  # type: ignore[arg-type]
    for batch in batches:
        rules.apply(batch)  # type: ignore[arg-type]
    dedup = Dedup(fuzzy=FuzzySettings(), expected_rows=sum(len(b) for b in batches))
    global _STAGE_STARTED
    _STAGE_STARTED = time.perf_counter()
    for batch in batches:
        dedup.check_batch(batch, by_external_id=False)  # type: ignore[arg-type]
    return sum(len(b) for b in batches)


def stage_encode(path: Path, limit: int) -> int:
    """CSV + base64 of 5,000-row upload files, as the batcher and client make them."""
    import base64

    from streamer.cleaning import CampaignRules
    from streamer.upload_format import render_csv

    batches, columns = _normalized(path)
    rules = CampaignRules(columns, max_record_chars=512)  # type: ignore[arg-type]
    rows = [r for batch in batches for r in rules.apply(batch)  # type: ignore[arg-type]
            if r.reason is None]  # type: ignore[attr-defined]
    global _STAGE_STARTED
    _STAGE_STARTED = time.perf_counter()
    for start in range(0, len(rows), 5_000):
        base64.b64encode(render_csv(rows[start : start + 5_000]))  # type: ignore[arg-type]
    return sum(len(b) for b in batches)


_STAGE_STARTED: float | None = None

CASES: dict[str, Callable[[Path, int], int]] = {
    "csv_reader": csv_reader,
    "streamer_dry_run": streamer_dry_run,
    "streamer_dry_run_12_fields": streamer_dry_run_12_fields,
    "streamer_upload": streamer_upload,
    "pandas_baseline": pandas_baseline,
    "naive_tutorial": naive_tutorial,
    "stage_reader": stage_reader,
    "stage_normalize": stage_normalize,
    "stage_rules": stage_rules,
    "stage_dedup": stage_dedup,
    "stage_encode": stage_encode,
}


def main() -> None:
    case, path, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    started = time.perf_counter()
    rows = CASES[case](path, limit)
    # Stage cases prepare their input untimed and say when the timed part began.
    seconds = time.perf_counter() - (_STAGE_STARTED or started)
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak_rss_kib() / 1024,
                      "workers_peak_rss_mb": workers_peak_rss_kib() / 1024}))


def peak_rss_kib() -> int:
    """This process's own peak RSS. Not getrusage's ru_maxrss: Linux carries that across
    exec from the parent at fork, so a case would report the benchmark driver's size."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux: the best there is
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("VmHWM:")))


def workers_peak_rss_kib() -> int:
    """The largest peak RSS among this process's ended children (streamer's workers),
    0 without any. (Each is at least this process's size when it was started.)"""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


if __name__ == "__main__":
    main()
