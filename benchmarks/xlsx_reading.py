"""Reading a contacts workbook: python-calamine against openpyxl (read-only), and the same
rows as CSV, at two sizes, so both speed and whether memory stays flat can be seen.

    python -m benchmarks.xlsx_reading                          # 50k and 200k rows
    python -m benchmarks.xlsx_reading --sizes 200000 --repeat 3 --dir /tmp/xlsx-bench

Each workbook is written once with openpyxl's write-only mode (kept in ``--dir``, reused
when present): the messy generator's contacts (examples/messy.py) plus columns typed as a
workbook types them: a second number stored as a number, an external id as text with
leading zeros, a signup date, a balance, an opt-in flag. The CSV holds the same rows as
text. Write-only mode stores text in each cell (inline strings) and no dimension; Excel
and LibreOffice store each distinct text once (shared strings) and the sheet's dimension,
which spares openpyxl a pass over the sheet to size it, and makes readers hold the texts.
The workbook is then rewritten that way (:func:`as_excel_saves_it`), so the figures are for
the files users hand over. Every case reads all rows in a fresh subprocess, ``--repeat``
times; the table shows the medians of rows/s and of the subprocess's own peak RSS:

- ``csv_reader``: ``csv.reader`` over the CSV (the floor, as in ``python -m benchmarks``);
- ``calamine``: ``python_calamine`` ``iter_rows()`` over the first sheet;
- ``openpyxl``: ``openpyxl.load_workbook(read_only=True, data_only=True)``
  ``iter_rows(values_only=True)``;
- ``streamer_xlsx`` / ``streamer_csv``: streamer's own sources (cells made text, rows
  numbered and batched, columns mapped) over the workbook and the CSV.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import random
import re
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from examples.messy import HEADER, generate

CASES = ("csv_reader", "calamine", "openpyxl", "streamer_xlsx", "streamer_csv")
COLUMNS = [*HEADER, "Home Phone", "Customer ID", "Signed Up", "Balance", "Opted In"]


def _typed_rows(rows: int, seed: int) -> object:
    rng = random.Random(seed)
    start = datetime.datetime(2015, 1, 1)
    for _, (fields, _person) in zip(range(rows), generate(rows, seed), strict=False):
        home = rng.randrange(2_000_000_000, 9_999_999_999)  # a number cell, as Excel keeps it
        signed = start + datetime.timedelta(minutes=rng.randrange(5_000_000))
        yield [*fields, home, f"{rng.randrange(10**8):08d}", signed,
               round(rng.uniform(0, 5_000), 2), rng.random() < 0.5]


def write_inputs(directory: Path, rows: int, seed: int = 7) -> tuple[Path, Path]:
    """The workbook and the CSV of ``rows`` rows, written unless already there."""
    from openpyxl import Workbook  # only the benchmark writes workbooks

    xlsx, text = directory / f"contacts-{rows}.xlsx", directory / f"contacts-{rows}.csv"
    if xlsx.exists() and text.exists():
        return xlsx, text
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")
    sheet.append(COLUMNS)
    with open(text, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for row in _typed_rows(rows, seed):
            sheet.append(row)
            writer.writerow(row)
    workbook.save(xlsx)
    as_excel_saves_it(xlsx)
    return xlsx, text


_INLINE = re.compile(rb'<c ([^>]*?)t="inlineStr"><is><t(?: [^>/]*)?>(.*?)</t></is></c>', re.S)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHARED_TYPE = ("application/vnd.openxmlformats-officedocument.spreadsheetml."
                "sharedStrings+xml")
_SHARED_REL = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
               "sharedStrings")


def as_excel_saves_it(path: Path) -> None:
    """Rewrite a write-only workbook's one sheet with shared strings and a dimension."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    shared: dict[bytes, int] = {}

    def share(match: re.Match[bytes]) -> bytes:
        index = shared.setdefault(match[2], len(shared))
        return b'<c ' + match[1] + b't="s"><v>' + str(index).encode() + b'</v></c>'

    sheet = _INLINE.sub(share, parts["xl/worksheets/sheet1.xml"])
    last = re.findall(rb'<row r="(\d+)"', sheet[-4096:])[-1].decode()
    width = max(len(re.findall(rb"<c ", sheet[:sheet.index(b"</row>")])), 1)
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        b"<sheetViews>", f'<dimension ref="A1:{chr(64 + width)}{last}" /><sheetViews>'.encode(),
        1)
    parts["xl/sharedStrings.xml"] = b"".join([
        f'<sst xmlns="{_MAIN}" count="{len(shared)}" uniqueCount="{len(shared)}">'.encode(),
        *(b"<si><t>" + text + b"</t></si>" for text in shared), b"</sst>"])
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SHARED_TYPE}"'
        ' /></Types>'.encode())
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", f'<Relationship Type="{_SHARED_REL}" Target="sharedStrings.xml"'
        ' Id="rIdShared" /></Relationships>'.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)


def read_all(case: str, path: Path) -> int:
    """Every row of ``path`` read by ``case``; the number of rows."""
    count = 0
    if case == "csv_reader":
        with open(path, encoding="utf-8", newline="") as file:
            for _ in csv.reader(file):
                count += 1
    elif case == "calamine":
        from python_calamine import CalamineWorkbook

        with CalamineWorkbook.from_path(path) as workbook:
            for _ in workbook.get_sheet_by_index(0).iter_rows():
                count += 1
    elif case == "openpyxl":
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
        for _ in workbook.worksheets[0].iter_rows(values_only=True):
            count += 1
        workbook.close()
    else:
        count = _read_with_streamer(path)
    return count


def _read_with_streamer(path: Path) -> int:
    import anyio

    from streamer.input import open_source
    from streamer.settings import Settings

    async def go() -> int:
        async with open_source(path, Settings()) as source:
            async for _ in source.batches():
                pass
            return source.rows_read

    return anyio.run(go)


def _measure(case: str, path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.xlsx_reading", "--case", case,
                           str(path)], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _run_case(case: str, path: Path) -> None:
    from benchmarks.cases import peak_rss_kib

    started = time.perf_counter()
    rows = read_all(case, path)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak_rss_kib() / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/streamer-xlsx-bench"))
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        _run_case(args.case, args.path)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    print(f"{'case':<14} {'rows':>8} {'file MB':>8} {'rows/s':>10} {'peak RSS MB':>12}")
    for size in args.sizes:
        started = time.perf_counter()
        xlsx, text = write_inputs(args.dir, size)
        print(f"# {size:,} rows ready in {time.perf_counter() - started:.1f} s", flush=True)
        for case in args.cases:
            path = text if case in ("csv_reader", "streamer_csv") else xlsx
            runs = [_measure(case, path) for _ in range(args.repeat)]
            seconds = statistics.median(run["seconds"] for run in runs)
            rss = statistics.median(run["peak_rss_mb"] for run in runs)
            rows = int(runs[0]["rows"])
            print(f"{case:<14} {rows:>8,} {path.stat().st_size / 1e6:>8.1f} "
                  f"{rows / seconds:>10,.0f} {rss:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
