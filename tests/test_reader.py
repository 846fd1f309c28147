from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamer import Columns, InputError, Settings
from streamer.input import CsvSource, header_key, map_columns, sniff_delimiter
from tests.conftest import WriteCsv


async def read_all(path: Path, settings: Settings | None = None) -> list[tuple[int, list[str]]]:
    async with CsvSource(path, settings or Settings(chunk_rows=3)) as source:
        return [(row.record, row.fields) async for batch in source.batches() for row in batch]


async def test_records_are_numbered_from_one_and_blank_lines_are_skipped(
    write_csv: WriteCsv,
) -> None:
    path = write_csv([["phone", "name"], ["1", "a"], [], ["", ""], [], ["3", "c"]])
    assert await read_all(path) == [(1, ["1", "a"]), (2, ["", ""]), (3, ["3", "c"])]


async def test_quoted_commas_and_newlines_stay_inside_their_field(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('phone,name\n1,"Smith, Jr"\n2,"two\nlines"\n3,x\n', encoding="utf-8")
    records = await read_all(path)
    assert records == [(1, ["1", "Smith, Jr"]), (2, ["2", "two\nlines"]), (3, ["3", "x"])]


async def test_a_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffPhone,Name\n+14155552671,Zoë\n".encode())
    async with CsvSource(path, Settings()) as source:
        assert source.columns is not None
        assert source.columns.header == ("Phone", "Name")
        assert source.columns.phone == 0
        rows = [row.fields async for batch in source.batches() for row in batch]
    assert rows == [["+14155552671", "Zoë"]]


@pytest.mark.parametrize("delimiter", ["\t", ";", ","])
async def test_auto_delimiter_reads_the_header_line(write_csv: WriteCsv, delimiter: str) -> None:
    path = write_csv([["phone", "name"], ["1", "a, b"]], delimiter=delimiter)
    assert await read_all(path) == [(1, ["1", "a, b"])]


def test_sniffing_ignores_delimiters_inside_quotes() -> None:
    assert sniff_delimiter('"a;b;c",phone') == ","
    assert sniff_delimiter("a\tb;c\td") == "\t"
    assert sniff_delimiter("phone") == ","


async def test_no_header_uses_the_given_column_names(write_csv: WriteCsv) -> None:
    path = write_csv([["+14155552671", "Ann"], ["+14155552672", "Bob"]])
    settings = Settings(has_header=False, column_names=("mobile", "first"))
    async with CsvSource(path, settings) as source:
        assert source.columns is not None
        assert (source.columns.phone, source.columns.first_name) == (0, 1)
        records = [row.record async for batch in source.batches() for row in batch]
    assert records == [1, 2]


def test_usual_header_spellings_are_recognised() -> None:
    header = ("Contact ID", "Given Name", "SURNAME", "Mobile Phone", "E-Mail", "Country Code")
    columns = map_columns(header, Columns())
    assert (columns.external_id, columns.first_name, columns.last_name, columns.phone,
            columns.email, columns.country) == (0, 1, 2, 3, 4, 5)
    assert header_key(" Phone_Number ") == "phonenumber"


def test_a_chosen_column_wins_over_usual_spellings() -> None:
    columns = map_columns(("phone", "work line"), Columns(phone="Work Line"))
    assert columns.phone == 1


def test_no_phone_column_is_an_error_that_lists_the_columns() -> None:
    with pytest.raises(InputError, match=r"no phone column.*columns found: name, city"):
        map_columns(("name", "city"), Columns())
    with pytest.raises(InputError, match="no column 'cell'"):
        map_columns(("phone",), Columns(phone="cell"))


async def test_unusable_files_raise_one_line_input_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for path, message in ((tmp_path / "missing.csv", "no such file"),
                          (tmp_path, "is a directory"), (empty, "the file is empty")):
        with pytest.raises(InputError, match=message) as caught:
            await read_all(path)
        assert "\n" not in str(caught.value)


async def test_bytes_that_are_not_utf8_are_an_input_error_when_utf8_is_asked_for(
    tmp_path: Path,
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("phone,name\n1,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8 text near record 1"):
        await read_all(path, Settings(encoding="utf-8"))


async def test_auto_reads_bytes_that_are_not_utf8_as_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("phone,name\n1,Jos\xe9\n".encode("latin-1"))
    assert await read_all(path) == [(1, ["1", "José"])]


field_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(field_text, min_size=2, max_size=2), max_size=20))
async def test_reader_returns_what_csv_writer_wrote(
    tmp_path: Path, rows: list[list[str]]
) -> None:
    path = tmp_path / "prop.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([["phone", "name"], *rows])
    # A row whose fields are all empty is a record of empty fields, never skipped.
    expected = [(i, row) for i, row in enumerate(rows, start=1)]
    assert await read_all(path) == expected


async def test_the_row_estimate_comes_from_the_first_megabyte(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["phone", "name"])
        for i in range(60_000):  # about 2 MB, lines of varied length
            writer.writerow([f"+1415555{i % 10_000:04d}", "x" * (i % 23)])
    async with CsvSource(path, Settings()) as source:
        assert 0.95 * 60_000 < source.estimated_rows < 1.05 * 60_000
    packed = tmp_path / "big.csv.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    async with CsvSource(packed, Settings()) as source:
        assert source.estimated_rows == 0  # the compressed size says nothing of the rows
