"""Workbooks in: one sheet of an .xlsx file read as the same rows saved as CSV would be."""

from __future__ import annotations

import csv
import datetime
import json
import os
import signal
from collections.abc import Sequence
from pathlib import Path

import anyio
import pytest
from openpyxl import Workbook

import streamer
from streamer import InputError, Sandbox, SandboxConfig
from streamer.counters import Progress
from streamer.input import XlsxSource, open_source
from streamer.input._cells import cell_text
from streamer.settings import Settings
from tests.cli_runs import cli_env, one_line, upload, upload_command
from tests.support import assert_exact, read_outcomes, settings_for, stored_records

Sheet = Sequence[Sequence[object]]


def write_book(path: Path, *sheets: tuple[str, Sheet]) -> Path:
    """A workbook of these sheets (name, rows), cells typed as given, as Excel saves it."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


async def read_rows(path: Path, settings: Settings | None = None) -> list[tuple[int, list[str]]]:
    async with open_source(path, settings or Settings(chunk_rows=3)) as source:
        assert isinstance(source, XlsxSource)
        return [(row.record, row.fields) async for batch in source.batches() for row in batch]


@pytest.mark.parametrize(("value", "text"), [
    (4915127153684.0, "4915127153684"),  # a phone typed as a number: no .0
    (4915127153684, "4915127153684"),
    (1.5, "1.5"),
    (0.1 + 0.2, "0.3"),  # Excel's 15 significant digits, as it shows them
    (151234567890.0, "151234567890"),  # Excel may show 1.51E+11: the digits are all here
    (1e20, "100000000000000000000"),  # never an exponent
    (1e-05, "0.00001"),
    (-0.0, "0"),
    (datetime.datetime(2024, 3, 1), "2024-03-01"),
    (datetime.datetime(2024, 3, 1, 14, 30), "2024-03-01T14:30:00"),
    (datetime.date(2024, 3, 1), "2024-03-01"),
    (datetime.time(9, 5), "09:05:00"),
    (datetime.timedelta(days=1, hours=2), "26:00:00"),
    (True, "true"),
    (False, "false"),
    ("00123", "00123"),
    ("", ""),
    (None, ""),
])
def test_a_cell_is_the_text_a_person_sees(value: object, text: str) -> None:
    assert cell_text(value) == text


async def test_typed_cells_blank_rows_and_ragged_rows_read_as_csv_would(tmp_path: Path) -> None:
    path = write_book(tmp_path / "book.xlsx", ("Contacts", [
        ["Phone", "Customer ID", "Signed up", "Balance", "VIP"],
        [4915127153684, "00123", datetime.datetime(2024, 3, 1), 1.5, True],
        [None, None, None, None, None],  # wholly blank: skipped and not numbered
        ["+1 415 555 2671", "0042", datetime.datetime(2024, 3, 1, 14, 30), 2.0, False],
        ["4915127153685"],  # shorter than the header: padded
        [],
        ["4915127153686", "7", None, None, None, "a note past the header"],
    ]))
    assert await read_rows(path) == [
        (1, ["4915127153684", "00123", "2024-03-01", "1.5", "true"]),
        (2, ["+1 415 555 2671", "0042", "2024-03-01T14:30:00", "2", "false"]),
        (3, ["4915127153685", "", "", "", ""]),
        (4, ["4915127153686", "7", "", "", "", "a note past the header"]),
    ]


async def test_the_report_names_a_workbooks_records_by_the_rows_excel_shows(
        tmp_path: Path) -> None:
    path = write_book(tmp_path / "book.xlsx", ("Contacts", [
        ["Phone", "Name"],
        ["+1 415 555 2671", "Ann"],
        [None, None],  # a blank row: row 3 in Excel, no record
        ["12", "Bob"],  # record 2, row 4
        ["+1 415 555 2671", "Ann again"],  # record 3, row 5
    ]))
    out = tmp_path / "out"
    await streamer.run(path, settings_for(None, out, dry_run=True))
    data = json.loads((out / "report.json").read_text())
    assert data["reason_sample_rows"] == {"invalid_phone": 4, "same_phone": 5}


async def test_the_first_sheet_is_read_unless_another_is_named(tmp_path: Path) -> None:
    path = write_book(tmp_path / "book.xlsx", ("Old", [["phone"], ["+14155550001"]]),
                      ("New list", [["phone"], ["+14155550002"], ["+14155550003"]]))
    assert await read_rows(path) == [(1, ["+14155550001"])]
    assert [fields for _, fields in await read_rows(path, Settings(sheet="New list"))] == [
        ["+14155550002"], ["+14155550003"]]
    # Excel takes a sheet's name in any case, so does streamer.
    assert len(await read_rows(path, Settings(sheet="new LIST"))) == 2
    with pytest.raises(InputError, match=r"no sheet named 'Nope'; its sheets: 'Old', 'New list'"):
        await read_rows(path, Settings(sheet="Nope"))


async def test_an_empty_sheet_and_a_sheet_named_for_a_csv_are_one_line_errors(
    tmp_path: Path,
) -> None:
    path = write_book(tmp_path / "book.xlsx", ("Empty", []), ("Full", [["phone"], ["1"]]))
    with pytest.raises(InputError, match="the sheet 'Empty' is empty"):
        await read_rows(path)
    text = tmp_path / "contacts.csv"
    text.write_text("phone\n+14155550001\n")
    with pytest.raises(InputError, match=r"not an \.xlsx workbook"):
        await read_rows(text, Settings(sheet="Full"))


@pytest.mark.parametrize(("name", "content", "words"), [
    ("cut.xlsx", None, "not a readable .xlsx workbook"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "Excel 97-2003"),
    ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "Excel 97-2003"),
    # An encrypted workbook is an OLE container holding an EncryptionInfo stream.
    ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
     + "EncryptionInfo".encode("utf-16-le"), "protected by a password"),
    ("archive.zip", b"PK\x03\x04" + bytes(100), "not a readable .xlsx workbook"),
    ("missing.xlsx", b"", "no such file"),
])
async def test_unreadable_workbooks_stop_the_run_in_one_line(
    sandbox: Sandbox, tmp_path: Path, name: str, content: bytes | None, words: str
) -> None:
    path = tmp_path / name
    if content is None:  # a real workbook, cut short as a failed download leaves it
        whole = write_book(tmp_path / "whole.xlsx", ("S", [["phone"], *[[n] for n in range(
            14155550000, 14155551000)]])).read_bytes()
        content = whole[: len(whole) // 2]
    if name != "missing.xlsx":
        path.write_bytes(content)
    done = await upload(cli_env(sandbox), path, tmp_path / "out")
    assert done.returncode == 2
    line = one_line(done)
    assert words in line and str(path) in line


async def test_an_unknown_sheet_on_the_command_line_lists_the_sheets(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = write_book(tmp_path / "book.xlsx", ("Contacts", [["phone"], ["+14155550001"]]),
                      ("Notes", [["x"]]))
    done = await upload(cli_env(sandbox), path, tmp_path / "out", "--sheet", "Contact")
    assert done.returncode == 2
    assert one_line(done) == (f"streamer: {path}: no sheet named 'Contact'; its sheets: "
                              "'Contacts', 'Notes'")


def _contacts(rows: int) -> list[list[object]]:
    """Rows as a CRM export holds them: numbers typed as numbers, ids as text."""
    return [["First Name", "Mobile", "Country", "Customer ID", "Signed up"],
            *[[f"Person {n}", 4915127150000 + n if n % 2 else f"0151 2715{n:04d}", "DE",
               f"{n:06d}", datetime.datetime(2024, 1, 1) + datetime.timedelta(days=n)]
              for n in range(rows)]]


async def test_a_workbook_uploads_end_to_end_as_its_csv_would(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    rows = _contacts(300)
    rows[5][1] = "not a number"
    rows[7][1] = rows[6][1]  # the same mobile: a duplicate of record 6
    rows.insert(50, [None] * 5)
    path = write_book(tmp_path / "contacts.xlsx", ("Export", rows))
    out = tmp_path / "out"
    progress = Progress()
    report = await streamer.run(path, settings_for(sandbox, out, batch_size=64, chunk_rows=100),
                                progress=progress)
    saved = await assert_exact(sandbox, out)
    # The progress line's share: the sheet read through is the whole file.
    assert progress.bytes_read == progress.bytes_total == path.stat().st_size
    assert progress.rows_read == 300
    assert report.rows_read == 300 and saved["reading"] == {"format": "xlsx", "sheet": "Export"}
    outcomes = {int(o["record"]): o for o in read_outcomes(out)}
    assert outcomes[5]["outcome"] == "rejected" and outcomes[5]["reason"] == "invalid_phone"
    assert outcomes[7]["outcome"] == "duplicate" and outcomes[7]["duplicate_of"] == "6"
    assert outcomes[9]["external_id"] == "000008"  # leading zeros of a text cell kept
    with open(out / "rejected.csv", encoding="utf-8", newline="") as file:
        rejected = list(csv.DictReader(file))
    assert [(r["record"], r["Mobile"], r["Customer ID"], r["Signed up"]) for r in rejected] == [
        ("5", "not a number", "000004", "2024-01-05")]
    assert report.list_id is not None
    stored = {r["externalId"]: r["phoneNumber"] for r in
              await stored_records(sandbox, report.list_id)}
    assert stored["000001"] == "+4915127150001"  # a number cell: its digits, no .0
    assert stored["000002"] == "+4915127150002"  # a text cell, read with the row's country
    assert stored["000299"] == "+4915127150299"  # after the blank row: nothing lost


async def test_a_killed_workbook_run_resumes_and_ends_exact(tmp_path: Path) -> None:
    path = write_book(tmp_path / "contacts.xlsx", ("Export", _contacts(3000)))
    out = tmp_path / "out"
    async with Sandbox(SandboxConfig(latency_ms=20)) as sandbox:
        env = cli_env(sandbox)
        flags = ("--batch-size", "50", "--concurrency", "1", "--max-concurrency", "1")
        async with await anyio.open_process(upload_command(path, out, *flags),
                                            env=env) as victim:
            with anyio.fail_after(60):
                while sandbox.stats()["records_received"] < 200:
                    await anyio.sleep(0.02)
            os.kill(victim.pid, signal.SIGKILL)
            await victim.wait()
        assert (out / "journal.sqlite3").exists()
        sent_before = sandbox.stats()["records_received"]
        assert 0 < sent_before < 3000
        done = await upload(env, path, out, *flags)
        assert done.returncode == 0, done.stderr.decode()
        report = await assert_exact(sandbox, out)
        assert report["resumed"] and report["rows_read"] == 3000
        # What reached the list before the kill was read back, not sent again (a batch in
        # flight when the kill came may be, once: uploads are idempotent by external id).
        assert sandbox.stats()["records_received"] <= 3000 + 50
        assert json.loads((out / "report.json").read_text())["outcomes"]["uploaded"] == 3000


async def test_a_campaign_file_names_the_sheet(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write_book(tmp_path / "book.xlsx", ("Old", [["phone"], ["+14155550001"]]),
                      ("New", [["phone"], ["+14155550002"], ["+14155550003"]]))
    campaign = tmp_path / "campaign.toml"
    campaign.write_text('sheet = "New"\ndry-run = true\n')
    out = tmp_path / "out"
    done = await upload(cli_env(sandbox), path, out, "--config", str(campaign))
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads((out / "report.json").read_text())
    assert report["rows_read"] == 2 and report["reading"]["sheet"] == "New"


async def test_an_xls_file_that_holds_text_is_read_as_the_csv_it_is(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_text("phone\t Name\n+14155550001\tAnn\n")
    async with open_source(path, Settings()) as source:
        assert not isinstance(source, XlsxSource)
        assert [row.fields async for batch in source.batches() for row in batch] == [
            ["+14155550001", "Ann"]]
