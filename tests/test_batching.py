from __future__ import annotations

import csv
import io

import anyio
from hypothesis import given
from hypothesis import strategies as st

from streamer.csv_text import csv_line
from streamer.delivery import batch_rows
from streamer.records import Outcome, OutcomeKind, ReasonCode, Row, UploadBatch
from streamer.upload_format import (
    UPLOAD_HEADER,
    derive_external_id,
    record_chars,
    render_csv,
    row_bytes_bound,
    upload_fields,
)


@given(st.lists(st.text(max_size=15), min_size=1, max_size=5))
def test_record_chars_is_the_length_of_the_csv_line(fields: list[str]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(fields)
    line = buffer.getvalue().removesuffix("\r\n")
    if fields == [""]:
        line = ""  # csv.writer quotes a lone empty field; CXone sees an empty line either way
    assert record_chars(tuple(fields)) == len(line)


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12),
                          st.text(max_size=12)), max_size=6))
def test_upload_files_are_what_csv_writer_writes(records: list[tuple[str, ...]]) -> None:
    rows = []
    for number, (external_id, phone, first, last) in enumerate(records, 1):
        row = Row(number, [])
        row.external_id, row.phone, row.first_name, row.last_name = (
            external_id, phone, first, last)
        rows.append(row)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(UPLOAD_HEADER)
    writer.writerows([upload_fields(row) for row in rows])
    assert render_csv(rows) == buffer.getvalue().encode("utf-8")
    assert all(csv_line(upload_fields(row)) == row.upload for row in rows)


def test_derived_external_ids_are_stable_and_distinct() -> None:
    assert derive_external_id("+14155552671") == derive_external_id("+14155552671")
    assert derive_external_id("+14155552671") != derive_external_id("+14155552672")
    assert derive_external_id("+14155552671").startswith("s1-")


def live(record: int) -> Row:
    row = Row(record, [])
    row.external_id, row.phone, row.first_name = f"id{record}", f"+1415555{record:04d}", "Zoë"
    return row


async def run_batcher(rows: list[Row], **kwargs: int) -> tuple[list[UploadBatch], list[Outcome]]:
    send_rows, receive_rows = anyio.create_memory_object_stream[list[Row]](10)
    send_batches, receive_batches = anyio.create_memory_object_stream[UploadBatch](100)
    send_outcomes, receive_outcomes = anyio.create_memory_object_stream[list[Outcome]](100)
    async with send_rows:
        for start in range(0, len(rows), 4):
            await send_rows.send(rows[start : start + 4])
    await batch_rows(receive_rows, send_batches, send_outcomes, **kwargs)
    async with receive_batches, receive_outcomes:
        batches = [b async for b in receive_batches]
        outcomes = [o async for group in receive_outcomes for o in group]
    return batches, outcomes


async def test_accepted_rows_are_packed_and_decided_rows_become_outcomes() -> None:
    rows = [live(i) for i in range(1, 12)]
    rows[2].reason = ReasonCode.INVALID_PHONE
    rows[5].reason, rows[5].duplicate_of = ReasonCode.SAME_PHONE, 1
    batches, outcomes = await run_batcher(rows, batch_size=4)
    assert [len(b.rows) for b in batches] == [4, 4, 1]
    assert [b.file_name for b in batches] == [
        "batch-000001.csv", "batch-000002.csv", "batch-000003.csv"]
    assert outcomes == [
        Outcome(3, OutcomeKind.REJECTED, ReasonCode.INVALID_PHONE, None, "id3"),
        Outcome(6, OutcomeKind.DUPLICATE, ReasonCode.SAME_PHONE, 1, "id6"),
    ]
    parsed = list(csv.reader(io.StringIO(batches[0].payload.decode("utf-8"))))
    assert tuple(parsed[0]) == UPLOAD_HEADER
    assert parsed[1] == ["id1", "+14155550001", "Zoë", ""]


async def test_a_batch_closes_before_passing_the_byte_limit() -> None:
    rows = [live(i) for i in range(1, 10)]
    header = len(render_csv([]))
    limit = header + 2 * row_bytes_bound(rows[0])
    batches, _ = await run_batcher(rows, batch_size=100, max_bytes=limit)
    assert [len(b.rows) for b in batches] == [2, 2, 2, 2, 1]
    assert all(len(b.payload) <= limit for b in batches)
