"""A stranger's CSV never crashes the tool: one clear line and exit 2, or per-row outcomes.

Every input is made here, in tmp_path; no binary fixture is committed.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamer
from streamer import Settings
from streamer.cli import main
from streamer.input import FIELD_LIMIT, CsvSource
from streamer.input import _source as reader_module
from tests.support import read_outcomes, settings_for

PHONE = "+14155552671"
PHONE2 = "+14155552672"
PHONE3 = "+14155552673"
MB = 1024 * 1024


def cli_error(
    path: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> str:
    """Run ``upload`` on ``path``; assert exit 2 with one line and no traceback; the line."""
    status = main(["upload", str(path), "--out", str(out), "--dry-run", *extra])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert len(err) < 400, err[:400]
    return err


async def dry_run(
    path: Path, out: Path, **overrides: object
) -> tuple[streamer.Report, list[dict[str, str]]]:
    report = await streamer.run(path, settings_for(None, out, dry_run=True, **overrides))
    assert report.balanced
    outcomes = read_outcomes(out)
    assert len(outcomes) == report.rows_read
    return report, outcomes


def verdicts(outcomes: list[dict[str, str]]) -> list[tuple[int, str]]:
    """(record, reason or outcome) per row, in record order."""
    return sorted((int(o["record"]), o["reason"] or o["outcome"]) for o in outcomes)


async def read_rows(path: Path, options: Settings | None = None) -> list[list[str]]:
    async with CsvSource(path, options or Settings()) as source:
        return [row.fields async for batch in source.batches() for row in batch]


# --- inputs that stop the run with one line ---------------------------------------------

def write(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    """A maker of the file; big contents are made only when the test runs."""

    def make(directory: Path) -> Path:
        path = directory / name
        path.write_bytes(data if isinstance(data, bytes) else data())
        return path

    return make


def png() -> bytes:
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06"
    return header + random.Random(1).randbytes(3000)


UNUSABLE: list[tuple[str, Callable[[Path], Path], tuple[str, ...], tuple[str, ...]]] = [
    ("missing file", lambda d: d / "nope.csv", (), ("nope.csv: no such file",)),
    ("directory", lambda d: d, (), ("is a directory",)),
    ("empty file", write("empty.csv", b""), (), ("empty.csv: the file is empty",)),
    ("blank lines only", write("blank.csv", b"\n\r\n\r\n"), (), ("the file is empty",)),
    ("png image", write("photo.csv", png), (), ("not a text CSV file", "PNG image")),
    ("random bytes", write("noise.csv", random.Random(2).randbytes(4096)), (),
     ("not a text CSV file", "binary data")),
    # A ZIP, whatever its name, is read as a workbook (tests/test_xlsx.py); this one is not.
    ("broken zip named .csv", write("book.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200)),
     (), ("book.csv: not a readable .xlsx workbook",)),
    ("no phone column", write("people.csv", b"name,city\nAnn,Oslo\n"), (),
     ("people.csv: no phone column", "columns found: name, city")),
    ("unterminated quote", write("quote.csv", f'phone,name\n{PHONE},a\n{PHONE2},"Bo\n'
                                 f"{PHONE3},c\n{PHONE},d\n".encode()), (),
     ("record 2: a quote opened there is never closed",)),
    ("unterminated quote in the header", write("hq.csv", f'phone,"name\n{PHONE},a\n'.encode()),
     (), ("the header: a quote opened there is never closed",)),
    ("explicit utf-8 meets cp1252",
     write("latin.csv", f"phone,name\n{PHONE},Ann\n{PHONE2},Bo\n{PHONE3},Jos\xe9\n"
           .encode("cp1252")), ("--encoding", "utf-8"),
     ("not UTF-8 text near record 3", "--encoding auto")),
    ("utf-16 with a lone surrogate",
     write("u16.csv", f"\ufeffphone,name\n{PHONE},a\n{PHONE2},".encode("utf-16-le")
           + b"\x00\xd8" + "x\n".encode("utf-16-le")), (),
     ("not UTF-16-LE text near record 2", "byte-order mark")),
    ("truncated gzip",
     write("cut.csv.gz", gzip.compress(f"phone\n{PHONE}\n".encode() * 5000)[:-40]), (),
     ("corrupt or truncated gzip data",)),
    ("a codec that is not a text encoding", write("b64.csv", f"phone\n{PHONE}\n".encode()),
     ("--encoding", "base64"), ("encoding base64: not a text encoding (--encoding",)),
    ("thousands of columns, none a phone",
     write("wide.csv", ",".join(f"c{i}" for i in range(5000)).encode() + b"\n"), (),
     ("no phone column", "c0, c1,", "c19 and 4,980 more")),
    ("a 10 MB header line with no newline", write("long.csv", lambda: b"x" * (10 * MB)), (),
     ("no phone column", "columns found: xxxxxxxx", "...")),
    ("control characters in a header name",
     write("ctl.csv", b'"na\nme",city\nAnn,Oslo\n'), (), ("columns found: 'na\\nme', city",)),
]


@pytest.mark.parametrize(("make", "extra", "fragments"),
                         [case[1:] for case in UNUSABLE], ids=[case[0] for case in UNUSABLE])
def test_unusable_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path], extra: tuple[str, ...], fragments: tuple[str, ...],
) -> None:
    err = cli_error(make(tmp_path), tmp_path / "out", capsys, *extra)
    for fragment in fragments:
        assert fragment in err


def test_an_unclosed_quote_that_swallows_more_than_the_field_limit_names_its_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "swallow.csv"
    tail = f"{PHONE},x\n".encode() * (FIELD_LIMIT // 14 + 1000)
    path.write_bytes(f'phone,name\n{PHONE},a\n{PHONE2},"b\n'.encode() + tail)
    err = cli_error(path, tmp_path / "out", capsys)
    assert "record 2: a field is longer than 16 MB" in err
    assert "quote opened there" in err


def test_a_line_over_the_limit_with_no_line_break_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "endless.csv"
    path.write_bytes(f"phone,name\n{PHONE},a\n{PHONE2},".encode() + b"y" * (FIELD_LIMIT + 10))
    err = cli_error(path, tmp_path / "out", capsys)
    assert "a line longer than 16 MB with no line break near record 2" in err


async def test_a_utf8_error_far_into_the_file_names_its_own_record(tmp_path: Path) -> None:
    # Blocks are decoded whole; the record must still be the one holding the bad byte.
    path = tmp_path / "late.csv"
    rows = b"".join(f"{PHONE},row {i}\n".encode() for i in range(1, 150_001))
    path.write_bytes(b"phone,name\n" + rows + f"{PHONE},Jos\xe9\n".encode("cp1252"))
    with pytest.raises(streamer.InputError, match="not UTF-8 text near record 150001"):
        await read_rows(path, Settings(encoding="utf-8"))


# --- inputs that are read, row by row ---------------------------------------------------

async def test_a_header_only_file_is_a_balanced_run_of_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("phone,name\r\n", encoding="utf-8")
    report, outcomes = await dry_run(path, tmp_path / "lib")
    assert (report.rows_read, outcomes) == (0, [])


def test_a_header_only_file_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("phone,name\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["upload", str(path), "--out", str(out), "--dry-run"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert (report["rows_read"], report["balanced"]) == (0, True)


async def test_nul_bytes_are_dropped_and_counted(tmp_path: Path) -> None:
    # Python 3.11's csv no longer stops at NUL ("line contains NUL"): it would pass them
    # into fields, and on to CXone. They are dropped instead; a line of NULs is blank.
    path = tmp_path / "nul.csv"
    path.write_bytes(f"phone,name\n{PHONE[:5]}\x00{PHONE[5:]},A\x00nn\n\x00\x00\n"
                     f"{PHONE2},Bo\n".encode())
    async with CsvSource(path, Settings()) as source:
        rows = [row.fields async for batch in source.batches() for row in batch]
        assert source.nuls_removed == 4
    assert rows == [[PHONE, "Ann"], [PHONE2, "Bo"]]
    _, outcomes = await dry_run(path, tmp_path / "out")
    assert verdicts(outcomes) == [(1, "accepted"), (2, "accepted")]


# cp1252's own range (0x80-0x9F): curly quotes, en dash, euro sign.
TYPOGRAPHIC = "O\u2019Brien \u2013 \u2018\u20ac\u2019"
CP1252_TEXT = "phone,first name,last name\n{0},José,Müller\n{1},Zoë,{2}\n"


@pytest.mark.parametrize("encoding", ["auto", "cp1252", "windows-1252"])
async def test_cp1252_text_is_read_by_auto_or_when_named(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "win.csv"
    path.write_bytes(CP1252_TEXT.format(PHONE, PHONE2, TYPOGRAPHIC).encode("cp1252"))
    async with CsvSource(path, Settings(encoding=encoding)) as source:
        rows = [row.fields async for batch in source.batches() for row in batch]
        assert source.encoding == "cp1252"
    assert rows == [[PHONE, "José", "Müller"], [PHONE2, "Zoë", TYPOGRAPHIC]]
    _, outcomes = await dry_run(path, tmp_path / "out", encoding=encoding)
    assert verdicts(outcomes) == [(1, "accepted"), (2, "accepted")]


async def test_latin1_can_be_named_and_cp1252_undefined_bytes_do_not_stop_a_run(
    tmp_path: Path,
) -> None:
    path = tmp_path / "latin1.csv"
    # 0x81 and 0x9D have no cp1252 meaning; they are read as the Latin-1 controls.
    path.write_bytes(b"phone,name\n" + PHONE.encode() + b",Jos\xe9 \x81\x9d\n")
    assert await read_rows(path) == [[PHONE, "José \x81\x9d"]]
    assert await read_rows(path, Settings(encoding="latin-1")) == [[PHONE, "José \x81\x9d"]]


async def test_cp1252_that_starts_after_megabytes_of_ascii_is_still_cp1252(
    tmp_path: Path,
) -> None:
    path = tmp_path / "late.csv"
    ascii_rows = f"{PHONE},Ann\n".encode() * (MB // 16 + 10_000)
    path.write_bytes(b"phone,name\n" + ascii_rows + f"{PHONE2},José\n".encode("cp1252"))
    async with CsvSource(path, Settings()) as source:
        rows = [row.fields async for batch in source.batches() for row in batch]
        assert (source.encoding, source.fallback_sequences) == ("cp1252", 0)
    assert rows[-1] == [PHONE2, "José"]


async def test_a_utf8_file_with_a_stray_cp1252_byte_keeps_both(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(f"phone,name\n{PHONE},Zoë\n".encode() + f"{PHONE2},José\n".encode("cp1252"))
    async with CsvSource(path, Settings()) as source:
        rows = [row.fields async for batch in source.batches() for row in batch]
        assert (source.encoding, source.fallback_sequences) == ("utf-8", 1)
    assert rows == [[PHONE, "Zoë"], [PHONE2, "José"]]


UNICODE_TEXT = "phone,first name\n{0},Zoë\n{1},Łukasz 李\n"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8-sig", "utf-8"), ("utf-16", "utf-16-le"), ("utf-16-le-bom", "utf-16-le"),
     ("utf-16-be-bom", "utf-16-be"), ("utf-32", "utf-32-le"), ("utf-32-be-bom", "utf-32-be"),
     ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")],
)
async def test_byte_order_marks_and_bomless_utf16_are_honoured(
    tmp_path: Path, encoding: str, expected: str,
) -> None:
    text = UNICODE_TEXT.format(PHONE, PHONE2)
    if encoding.endswith("-bom"):
        data = ("\ufeff" + text).encode(encoding.removesuffix("-bom"))
    else:
        data = text.encode(encoding)  # utf-8-sig, utf-16 and utf-32 write their own mark
    path = tmp_path / "unicode.csv"
    path.write_bytes(data)
    async with CsvSource(path, Settings()) as source:
        assert source.columns is not None
        assert source.columns.header == ("phone", "first name")
        rows = [row.fields async for batch in source.batches() for row in batch]
        assert source.encoding == expected
    assert rows == [[PHONE, "Zoë"], [PHONE2, "Łukasz 李"]]
    _, outcomes = await dry_run(path, tmp_path / "out")
    assert verdicts(outcomes) == [(1, "accepted"), (2, "accepted")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8"])
async def test_a_named_encoding_skips_its_byte_order_mark(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "named.csv"
    path.write_bytes(("\ufeff" + UNICODE_TEXT.format(PHONE, PHONE2)).encode(
        "utf-16-le" if encoding == "utf-16" else encoding))
    async with CsvSource(path, Settings(encoding=encoding)) as source:
        assert source.columns is not None
        assert source.columns.header == ("phone", "first name")


async def test_cr_only_and_mixed_line_endings_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "endings.csv"
    path.write_bytes(
        f'phone,name\r{PHONE},"a\r\nb"\r\r{PHONE2},b\r\n\n{PHONE3},"c\rd"\n'
        f"{PHONE},last".encode()  # no final line break
    )
    assert await read_rows(path) == [
        [PHONE, "a\r\nb"], [PHONE2, "b"], [PHONE3, "c\rd"], [PHONE, "last"],
    ]
    _, outcomes = await dry_run(path, tmp_path / "out")
    assert verdicts(outcomes) == [(1, "accepted"), (2, "accepted"), (3, "accepted"),
                                  (4, "same_phone")]


async def test_ragged_rows_are_malformed_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(f"phone,name\n{PHONE},a,extra\n{PHONE2}\n{PHONE3},c\n,\n", encoding="utf-8")
    _, outcomes = await dry_run(path, tmp_path / "out")
    assert verdicts(outcomes) == [(1, "malformed_row"), (2, "malformed_row"), (3, "accepted"),
                                  (4, "empty_row")]


async def test_duplicate_header_names_use_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(f"Phone,name,phone,NAME\n{PHONE},Ann,not a phone,x\n", encoding="utf-8")
    async with CsvSource(path, Settings()) as source:
        assert source.columns is not None
        assert source.columns.phone == 0
    out = tmp_path / "out"
    _, outcomes = await dry_run(path, out)
    assert verdicts(outcomes) == [(1, "accepted")]
    batch = (out / "batches" / "batch-000001.csv").read_text(encoding="utf-8")
    assert PHONE in batch


@pytest.mark.parametrize("size", [200 * 1024, 10 * MB], ids=["over csv's 128 KiB", "10 MB"])
async def test_a_huge_field_is_a_row_with_an_outcome(tmp_path: Path, size: int) -> None:
    path = tmp_path / "huge.csv"
    # The last line is one huge field with no newline after it.
    path.write_bytes(f"phone,last name\n{PHONE},Lee\n{PHONE2},".encode() + b"z" * size)
    report, outcomes = await dry_run(path, tmp_path / "out")
    assert report.rows_read == 2
    assert verdicts(outcomes) == [(1, "accepted"), (2, "record_too_long")]


async def test_thousands_of_columns(tmp_path: Path) -> None:
    width, phone_at = 5000, 4321
    header = [f"col{i}" for i in range(width)]
    header[phone_at] = "phone"
    row = ["v"] * width
    row[phone_at] = PHONE
    path = tmp_path / "wide.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([header, row, row[:-1]])
    _, outcomes = await dry_run(path, tmp_path / "out")
    assert verdicts(outcomes) == [(1, "accepted"), (2, "malformed_row")]


@pytest.mark.parametrize("name", ["contacts.csv.gz", "contacts.csv"])
async def test_gzip_is_read_by_its_magic_bytes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(f"phone,name\n{PHONE},Zoë\n{PHONE2},Bo\n".encode()))
    async with CsvSource(path, Settings()) as source:
        rows = [row.fields async for batch in source.batches() for row in batch]
        assert source.compression == "gzip"
        assert source.bytes_read == source.size == path.stat().st_size
    assert rows == [[PHONE, "Zoë"], [PHONE2, "Bo"]]
    _, outcomes = await dry_run(path, tmp_path / "out")
    assert verdicts(outcomes) == [(1, "accepted"), (2, "accepted")]


async def test_spreadsheet_formulas_are_data_and_pass_through_reading(tmp_path: Path) -> None:
    formulas = ["=cmd|' /C calc'!A0", "+SUM(1+1)", "-2+3", "@SUM(A1)", '=HYPERLINK("x")']
    path = tmp_path / "formulas.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([["phone", "name"], *([PHONE, f] for f in formulas)])
    assert await read_rows(path) == [[PHONE, f] for f in formulas]


field_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=8,
)
# Letters whose cp1252 bytes are all UTF-8 lead bytes: two in a row, or one before ASCII,
# are never valid UTF-8, so "auto" must take such a file for cp1252.
cp1252_text = st.text(alphabet=st.sampled_from('ab1,"\r\n ÀÉÖàéöüñÿ'), max_size=8)
line_endings = st.sampled_from(["\n", "\r\n", "\r"])


def csv_text(rows: list[tuple[list[str], str]]) -> str:
    text = io.StringIO()
    for fields, ending in [(["phone", "name"], "\n"), *rows]:
        csv.writer(text, lineterminator=ending).writerow(fields)
    return text.getvalue()


async def read_in_blocks(path: Path, block: int, head: int) -> list[list[str]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader_module, "_BLOCK_BYTES", block)
        patch.setattr(reader_module, "_HEAD_BYTES", head)
        return await read_rows(path)


def parsed_whole(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text, newline="")) if row][1:]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(st.lists(field_text, min_size=2, max_size=2), line_endings),
                  max_size=12),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be"]),
    block=st.integers(min_value=1, max_value=9),
    head=st.integers(min_value=4, max_value=12),
    last_line_ended=st.booleans(),
)
async def test_any_block_size_reads_what_one_whole_read_does(
    tmp_path: Path, rows: list[tuple[list[str], str]], encoding: str, block: int, head: int,
    last_line_ended: bool,
) -> None:
    # Line breaks and multi-byte characters cut by a block boundary must not show.
    text = csv_text(rows)
    if not last_line_ended:
        text = text.removesuffix("\n").removesuffix("\r")
    path = tmp_path / "blocks.csv"
    path.write_bytes((("\ufeff" if encoding == "utf-16-be" else "") + text).encode(encoding))
    assert await read_in_blocks(path, block, head) == parsed_whole(text)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(st.lists(cp1252_text, min_size=2, max_size=2), line_endings),
                  max_size=12),
    block=st.integers(min_value=1, max_value=9),
    head=st.integers(min_value=4, max_value=12),
)
async def test_auto_reads_cp1252_wherever_its_first_accent_falls(
    tmp_path: Path, rows: list[tuple[list[str], str]], block: int, head: int,
) -> None:
    text = csv_text(rows)
    path = tmp_path / "blocks.csv"
    path.write_bytes(text.encode("cp1252"))
    assert await read_in_blocks(path, block, head) == parsed_whole(text)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
async def test_a_pipe_is_read_too_gzip_or_not(tmp_path: Path) -> None:
    # As in: streamer upload <(curl ... | zcat); a pipe cannot seek back to re-read.
    for data in (f"phone\n{PHONE}\n".encode(), gzip.compress(f"phone\n{PHONE}\n".encode())):
        path = tmp_path / "pipe.csv"
        os.mkfifo(path)
        writer = threading.Thread(target=path.write_bytes, args=(data,))
        writer.start()
        try:
            assert await read_rows(path) == [[PHONE]]
        finally:
            writer.join(timeout=10)
            path.unlink()
